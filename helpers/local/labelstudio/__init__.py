"""Local mode's Label Studio: the server (`server`) and the simulated annotators (`annotators`)."""
