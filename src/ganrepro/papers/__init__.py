"""Paper-specific code: objectives, table and figure builders (one sub-package per paper)."""
