"""A licence checker for project metadata that understands the St. Claire License."""

from __future__ import annotations

__version__ = "0.1.0"
