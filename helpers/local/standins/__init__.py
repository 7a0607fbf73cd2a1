"""Stand-ins for what AWS runs but the local AWS cannot: the workers and the training algorithm."""
