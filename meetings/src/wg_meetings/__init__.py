"""Generate, parse and check numbered meeting notes."""
