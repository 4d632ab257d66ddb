"""Models: what the networks are and what their losses and gradients are (no loops, no files)."""
