"""The reliability suite drives the real adapters: it reuses the Slack and Teams harnesses as they are."""

from __future__ import annotations

from tests.slack.conftest import fake_slack, slack  # noqa: F401  (fixtures)
from tests.teams.conftest import identity, teams  # noqa: F401  (fixtures)
