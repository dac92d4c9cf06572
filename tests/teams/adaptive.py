"""Every card must parse cleanly in Microsoft's Adaptive Cards library (npm `adaptivecards`) at 1.5.

The library is installed on first use into tests/teams/.node (git-ignored). No node or npm is a
failure, not a skip: CI (.ci/run) installs them. The one message tolerated is Teams' people picker
(`choices.data` with a `Data.Query` on graph.microsoft.com/users), which Teams documents for its
cards and the library only knows from 1.6; its shape is checked here instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"
VERSION = "3.0.6"
PEOPLE = {"graph.microsoft.com/users", "graph.microsoft.com/users?scope=currentContext"}


def ensure_library() -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to check cards (CI installs them; so can you: apt install nodejs npm)"
    if (NODE_DIR / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js").exists():
        return
    NODE_DIR.mkdir(exist_ok=True)
    (NODE_DIR / "package.json").write_text('{"name": "teambot-card-check", "private": true}\n')
    subprocess.run([npm, "install", "--no-audit", "--no-fund", f"adaptivecards@{VERSION}"], cwd=NODE_DIR,
                   check=True, capture_output=True, timeout=300)  # fmt: skip


def _people_pickers_ok(node: Any) -> list[str]:
    bad: list[str] = []
    if isinstance(node, dict):
        if "choices.data" in node:
            data = node["choices.data"]
            if node.get("type") != "Input.ChoiceSet" or data.get("type") != "Data.Query" or data.get("dataset") not in PEOPLE:
                bad.append(f"bad people picker: {node}")
        for value in node.values():
            bad += _people_pickers_ok(value)
    elif isinstance(node, list):
        for value in node:
            bad += _people_pickers_ok(value)
    return bad


def problems(cards: list[dict[str, Any]]) -> list[str]:
    """What the library (and the people-picker check) found wrong, per card; empty when all are clean."""
    if not cards:
        return []
    ensure_library()
    run = subprocess.run(["node", str(HERE / "check_cards.js"), str(NODE_DIR)], input=json.dumps(cards),
                         capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    found: list[str] = []
    for index, (card, events) in enumerate(zip(cards, json.loads(run.stdout), strict=True)):
        for event in events:
            if "choices.data" in event["message"] and "version 1.6" in event["message"]:
                continue
            found.append(f"card {index}: {event['message']}")
        if card.get("version") != "1.5":
            found.append(f"card {index}: version {card.get('version')!r}, not 1.5")
        found += [f"card {index}: {m}" for m in _people_pickers_ok(card)]
    return found
