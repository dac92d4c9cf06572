"""The app manifest: valid against Slack's published schema, and in step with the code."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from teambot.slack.runtime import BOT_SCOPES
from tests.published_schemas import schema_path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schema_path("slack-app-manifest.schema.1.0.0.json")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifests" / "slack.yaml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    if not SCHEMA.exists():
        pytest.fail(f"Slack's manifest schema is missing at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema)


def test_manifest_is_valid(manifest: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(manifest)]
    assert errors == []


def test_the_schema_check_can_fail(manifest: dict[str, Any], validator: jsonschema.Draft7Validator) -> None:
    broken = copy.deepcopy(manifest)
    broken["display_information"]["name"] = "T" * 40  # over the 35-character limit
    broken["features"]["slash_commands"][0]["unknown"] = True
    assert len(list(validator.iter_errors(broken))) >= 2


def test_manifest_matches_the_code(manifest: dict[str, Any]) -> None:
    f, s = manifest["features"], manifest["settings"]
    assert [c["command"] for c in f["slash_commands"]] == ["/recover"]
    assert [(x["type"], x["callback_id"]) for x in f["shortcuts"]] == [("message", "open_recovery_case")]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert "app_home_opened" in s["event_subscriptions"]["bot_events"]
    assert f["app_home"]["home_tab_enabled"] is True and s["interactivity"]["is_enabled"] is True
    urls = [
        f["slash_commands"][0]["url"],
        s["event_subscriptions"]["request_url"],
        s["interactivity"]["request_url"],
    ]
    assert all(u.endswith("/slack/events") for u in urls)
    assert manifest["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
