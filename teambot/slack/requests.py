"""Slack requests, parsed once: each listener turns Bolt's body into one of these small dataclasses,
records it as the intake row's payload (`payload()`), and the work reads its fields, never the body.
A row taken over after a crash is read back by `request_of` (unknown keys are ignored, missing ones
take their defaults, so rows written by an older version still run).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from slack_bolt.context.async_context import AsyncBoltContext

from teambot.slack import blocks, modals
from teambot.slack.text import from_slack


def team_of(context: AsyncBoltContext, body: dict[str, Any]) -> str:
    """The workspace id; an org-wide (Enterprise Grid) install without one uses the enterprise id."""
    team = context.team_id or (body.get("team") or {}).get("id") or body.get("team_id")
    return str(team or context.enterprise_id or (body.get("enterprise") or {}).get("id") or "")


def user_of(body: dict[str, Any]) -> str:
    return str(body.get("user_id") or (body.get("user") or {}).get("id") or "")


def channel_of(body: dict[str, Any]) -> str | None:
    channel = (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
    )
    return str(channel) if channel else None


def number_of(raw: str | None) -> int | None:
    found = re.match(r"#?(\d{1,9})", raw or "")
    return int(found.group(1)) if found else None


@dataclass(kw_only=True)
class Request:
    """Who asked, in which workspace and channel, and where to answer (`url`: the response_url)."""

    kind: ClassVar[str] = ""
    team: str
    user: str
    channel: str | None = None
    url: str | None = None

    def payload(self) -> dict[str, Any]:
        return {"type": self.kind, **asdict(self)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Request:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in known})


@dataclass(kw_only=True)
class CommandRequest(Request):
    """`/recover <text>`: run through the shared grammar."""

    kind = "command"
    text: str = ""
    trigger: str | None = None


@dataclass(kw_only=True)
class FormRequest(Request):
    """A form to open: `/recover` alone, the message shortcut, App Home's button. `form` is the
    modal's metadata; `prefill` what the form starts with."""

    kind = "form"
    trigger: str | None = None
    form: dict[str, Any] = field(default_factory=dict)
    prefill: dict[str, Any] | None = None
    ask_channel: bool = False


@dataclass(kw_only=True)
class ActionRequest(Request):
    """A card button (`case:<step>`); `raw` is its value, `clicked` the message it sits on."""

    kind = "action"
    step: str = ""
    raw: str = ""
    clicked: str | None = None
    trigger: str | None = None
    from_card: bool = False


@dataclass(kw_only=True)
class DecisionRequest(Request):
    """An approver's Approve or Deny button (Deny opens a form for the reason)."""

    kind = "approval"
    approval_id: int | None = None
    deny: bool = False
    trigger: str | None = None


@dataclass(kw_only=True)
class ViewRequest(Request):
    """A submitted modal: its callback `name`, metadata and {block_id: value}."""

    kind = "view"
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    vals: dict[str, Any] = field(default_factory=dict)
    view_id: str | None = None


@dataclass(kw_only=True)
class RunRequest(Request):
    """A "did you mean" button: the command it offers, run as whoever presses it."""

    kind = "run"
    text: str = ""


KINDS: dict[str, type[Request]] = {
    cls.kind: cls for cls in (CommandRequest, FormRequest, ActionRequest, DecisionRequest, ViewRequest, RunRequest)
}


def request_of(payload: dict[str, Any]) -> Request:
    """A recorded row's request, as the listener parsed it."""
    return KINDS[payload["type"]].from_payload(payload)


# ----- Bolt bodies to requests -------------------------------------------------------------------


def slash_command(context: AsyncBoltContext, body: dict[str, Any]) -> CommandRequest | FormRequest:
    """`/recover` alone (with a trigger to open it) is the form; anything else a command."""
    team, user, channel = team_of(context, body), user_of(body), channel_of(body) or ""
    text, url, trigger = from_slack(body.get("text")).strip(), body.get("response_url"), body.get("trigger_id")
    if not text and trigger:
        return FormRequest(team=team, user=user, channel=channel, url=url, trigger=trigger,
                           form={"channel": channel, "response_url": url})  # fmt: skip
    return CommandRequest(team=team, user=user, channel=channel, url=url, text=text, trigger=trigger)


def message_shortcut(context: AsyncBoltContext, shortcut: dict[str, Any]) -> FormRequest:
    """"Open a recovery case" on a message: the form, prefilled with the message and linking back to it."""
    team, user, channel = team_of(context, shortcut), user_of(shortcut), channel_of(shortcut) or ""
    message = shortcut.get("message") or {}
    text = from_slack(message.get("text"))
    meta = {
        "channel": channel, "response_url": shortcut.get("response_url"), "src": "msg",
        "msg": message.get("ts"), "author": message.get("user"), "quote": blocks.clip(text, 280),
    }  # fmt: skip
    return FormRequest(team=team, user=user, channel=channel, url=meta["response_url"],
                       trigger=shortcut.get("trigger_id"), form=meta, prefill={"problem": text, "message_length": len(text)})  # fmt: skip


def home_form(context: AsyncBoltContext, body: dict[str, Any]) -> FormRequest:
    """App Home's "Open a case": the form asks for the channel, having none of its own."""
    return FormRequest(team=team_of(context, body), user=user_of(body), trigger=body.get("trigger_id"),
                       form={"src": "home"}, ask_channel=True)  # fmt: skip


def case_button(context: AsyncBoltContext, body: dict[str, Any], action: dict[str, Any]) -> ActionRequest:
    container = body.get("container") or {}
    return ActionRequest(
        team=team_of(context, body), user=user_of(body), channel=channel_of(body), url=body.get("response_url"),
        step=action["action_id"].split(":", 1)[1],
        raw=action.get("value") or (action.get("selected_option") or {}).get("value") or "",
        clicked=container.get("message_ts"), trigger=body.get("trigger_id"), from_card=container.get("type") == "message",
    )  # fmt: skip


def run_button(context: AsyncBoltContext, body: dict[str, Any], action: dict[str, Any]) -> RunRequest:
    return RunRequest(team=team_of(context, body), user=user_of(body), channel=channel_of(body),
                      url=body.get("response_url"), text=str(action.get("value") or ""))  # fmt: skip


def decision_button(context: AsyncBoltContext, body: dict[str, Any], action: dict[str, Any]) -> DecisionRequest:
    return DecisionRequest(team=team_of(context, body), user=user_of(body), channel=channel_of(body),
                           url=body.get("response_url"), approval_id=number_of(action.get("value")),
                           deny=action["action_id"].endswith("deny"), trigger=body.get("trigger_id"))  # fmt: skip


def submission(context: AsyncBoltContext, body: dict[str, Any], view: dict[str, Any]) -> ViewRequest:
    meta, vals = modals.read_metadata(view), modals.values(view)
    return ViewRequest(team=team_of(context, body), user=user_of(body), channel=vals.get("channel") or meta.get("channel"),
                       url=meta.get("response_url"), name=view["callback_id"], meta=meta, vals=vals,
                       view_id=view.get("id"))  # fmt: skip
