"""Helpers for the Ground Truth -> Kubeflow Pipelines walkthrough."""
