"""Enzyme-style automatic differentiation of unmodified NumPy code."""
