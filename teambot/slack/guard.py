"""What a signed Slack request must look like before Bolt sees it.

Bolt and our listeners read fields they assume Slack always sends; a signed body without them
(only Slack, or someone holding the signing secret, can send one) gave a 500 with a traceback, or
worse, opened a case for an empty team and user. Such a body is refused with 400 here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl


def _ids(payload: dict[str, Any]) -> tuple[Any, Any]:
    team = payload.get("team")
    user = payload.get("user")
    team_id = team.get("id") if isinstance(team, dict) else payload.get("team_id")
    user_id = user.get("id") if isinstance(user, dict) else payload.get("user_id")
    return team_id, user_id


def malformed(raw: bytes, content_type: str) -> bool:
    """True when the body is a command or interaction that names no team or user, or whose parts
    are not the shapes Slack documents (an `actions` that is not a list, a `view` that is not an object)."""
    if content_type != "application/x-www-form-urlencoded":
        return False  # Events API JSON: Bolt copes, and the listeners read `event` defensively
    try:
        form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return True
    if "command" in form:
        return not (form.get("team_id") or form.get("enterprise_id")) or not form.get("user_id")
    if "payload" not in form:
        return False
    try:
        payload = json.loads(form["payload"])
    except ValueError:
        return True
    return not isinstance(payload, dict) or _bad_interaction(payload)


def _bad_interaction(payload: dict[str, Any]) -> bool:
    kind = payload.get("type")
    if kind in ("block_actions", "view_submission", "view_closed", "message_action", "shortcut") and _nobody(payload):
        return True
    if kind == "block_actions" and _bad_actions(payload.get("actions")):
        return True
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id", ""), str):
            return True
    return "view" in payload and not isinstance(payload["view"], dict | type(None))


def _nobody(payload: dict[str, Any]) -> bool:
    """No team (nor enterprise) or no user, or ids that are not text."""
    team_id, user_id = _ids(payload)
    enterprise = payload.get("enterprise")
    enterprise_id = enterprise.get("id") if isinstance(enterprise, dict) else None
    if not (team_id or enterprise_id) or not user_id:
        return True
    return not isinstance(team_id, str | type(None)) or not isinstance(user_id, str)


def _bad_actions(actions: Any) -> bool:
    if not isinstance(actions, list) or not actions:
        return True
    return not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
