"""The performance guards drive the real Slack adapter: they reuse its harness as it is."""

from __future__ import annotations

from tests.slack.conftest import fake_slack, slack  # noqa: F401  (fixtures)
