"""The vendored schema copies cannot drift from the published ones in ../shared."""

from __future__ import annotations

import pytest

from tests.published_schemas import SHARED, VENDORED


def test_vendored_schemas_match_shared() -> None:
    if not SHARED.exists():
        pytest.skip("no ../shared/schemas beside this clone; the vendored copies are used")
    for shared in SHARED.glob("*.json"):
        assert (VENDORED / shared.name).read_bytes() == shared.read_bytes(), shared.name
