"""Reading Adaptive Cards the way a person pressing their buttons would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def actions(card: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every action on the card, including those inside Action.ShowCard forms and selectActions."""
    stack: list[Any] = [card]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action."):
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(reversed(node))


def button(card: dict[str, Any], action: str, **match: Any) -> dict[str, Any]:
    """The submit data of the button that sends `action` (what Teams posts back when pressed)."""
    for a in actions(card):
        data = a.get("data") or {}
        wanted = a["type"] in ("Action.Submit", "Action.Execute") and data.get("teambot") == action
        if wanted and all(data.get(k) == v for k, v in match.items()):
            return dict(data)
    raise AssertionError(f"no {action!r} button on the card: {[a.get('title') for a in actions(card)]}")


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    stack: list[Any] = [card]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input.") and "id" in node:
                found[node["id"]] = node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def facts(card: dict[str, Any]) -> dict[str, str]:
    for block in card["body"]:
        if block.get("type") == "FactSet":
            return {f["title"]: f["value"] for f in block["facts"]}
    raise AssertionError("no facts on the card")
