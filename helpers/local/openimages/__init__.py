"""The local Open Images mirror: generated pictures and the dataset's CSV files, for local S3."""
