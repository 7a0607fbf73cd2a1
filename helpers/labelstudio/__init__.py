"""Label Studio as the walkthrough's second labeling backend: its API, labeling config and step."""
