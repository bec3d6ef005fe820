"""wg: the tooling of a machine-learning working group."""

__version__ = "0.1.0"
