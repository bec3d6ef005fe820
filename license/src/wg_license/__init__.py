"""A licence checker for project metadata that understands the St. Claire License."""
