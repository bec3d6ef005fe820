"""Convolutional and dense networks in NumPy with hand-written, verified backward passes."""
