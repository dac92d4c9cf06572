"""Text hygiene shared by the grammar and the services."""

from __future__ import annotations

import unicodedata


def clean_text(value: str) -> str:
    """Drop control characters (NUL breaks PostgreSQL, others break chat rendering); keep newlines and tabs."""
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc")
