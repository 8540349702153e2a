"""Handwriting Scanner: turn handwriting into editable text."""

__version__ = "0.1.0"
