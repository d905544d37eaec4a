"""Preparation of the papers' real datasets, for users who have the files (never downloads unless asked)."""
