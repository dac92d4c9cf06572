"""Where the published manifest schemas are: ../shared/schemas when present, else the vendored copy."""

from __future__ import annotations

from pathlib import Path

VENDORED = Path(__file__).resolve().parent / "schemas"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "schemas"


def schema_path(name: str) -> Path:
    shared = SHARED / name
    return shared if shared.exists() else VENDORED / name
