"""The Slack harness (the real app over HTTP, a fake Slack Web API) for the language tests here."""

from tests.slack.conftest import fake_slack, slack  # noqa: F401
