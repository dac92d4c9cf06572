"""Issue 26: improvement actions in Jira, against a local stand-in speaking Jira Cloud's REST API v3
(create issue, get issue, transitions, its error bodies). The link is made by the real CLI (the
token from standard input, sealed at rest with a key from TEAMBOT_SECRET); an action becomes an
issue carrying its cause and cases; the issue done in Jira (signed webhook, or the 15-minute poll)
marks the action done. The improvement loop's actions are reached through the Actions port: an
in-memory one here until that loop lands (see the report)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.jira.models import JiraIssue, JiraLink
from teambot.core.jira.ports import ActionInfo, JiraError
from teambot.core.secretbox import SecretBox
from teambot.server import create_app
from tests.api.conftest import ctx
from tests.api.jira_standin import EMAIL, TOKEN, Jira

ROOT = Path(__file__).resolve().parents[2]
SECRET = "jira-test-secret-0123456789"


@dataclass
class MemoryActions:
    """The Actions port over a dict: what the improvement loop provides for real."""

    actions: dict[int, ActionInfo] = field(default_factory=dict)
    done: list[tuple[int, str, str]] = field(default_factory=list)

    async def get(self, team_id: str, action_id: int) -> ActionInfo:
        return self.actions[action_id]

    async def mark_done(self, team_id: str, action_id: int, actor: str, note: str) -> None:
        self.done.append((action_id, actor, note))


@pytest.fixture
async def jira() -> AsyncIterator[Jira]:
    j = Jira()
    await j.start()
    yield j
    await j.close()


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


async def link_by_cli(db_url: str, site: str, token: str = TOKEN, project: str = "OPS") -> Done:
    """`teambot jira link ...` as an operator runs it, the token piped on standard input (the stand-in
    answers from this event loop, so the process is awaited, not waited for)."""
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": db_url, "TEAMBOT_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "teambot.cli", "jira", "link", "--team", "T1", "--site", site, "--project", project,
        "--email", EMAIL, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate((token + "\n").encode()), 120)
    return Done(proc.returncode or 0, out.decode(), err.decode())


def ready(c: Container) -> MemoryActions:
    actions = MemoryActions({7: ActionInfo(7, "T1", "Check the pass lamp before service", "kitchen equipment",
                                           [(3, "https://teambot.example.com/api/v1/cases/3"), (5, "")])})  # fmt: skip
    c.jira.box = SecretBox(SECRET.encode(), "teambot jira")
    c.jira.actions = actions
    return actions


async def test_the_round_trip(container: Container, jira: Jira, db_url: str) -> None:
    c = container
    done = await link_by_cli(db_url, jira.url)
    assert done.returncode == 0, done.stderr
    assert "/jira/webhook/T1" in done.stdout and "shown once" in done.stdout
    hook_secret = done.stdout.split("(shown once): ", 1)[1].split()[0]
    async with c.db.session() as s:
        link = (await s.exec(select(JiraLink))).one()
    assert TOKEN not in link.token and hook_secret not in link.webhook_secret  # sealed at rest
    policy = await c.commands.run_text("policy", ctx())
    assert f"Jira: {jira.url} · project OPS" in policy.text and TOKEN not in policy.text
    actions = ready(c)
    issue = await c.jira.create_for_action("T1", 7, "U_ADMIN")
    assert issue.issue_key == "OPS-1"
    assert (await c.jira.create_for_action("T1", 7, "U_ADMIN")).issue_key == "OPS-1"  # one issue per action
    sent = jira.issues["OPS-1"]["fields"]
    words = str(sent["description"])
    assert sent["summary"] == "Check the pass lamp before service" and "kitchen equipment" in words
    assert "Case #3" in words and "https://teambot.example.com/api/v1/cases/3" in words and "Case #5" in words
    # Done in Jira: its signed webhook reaches Teambot's endpoint.
    body, headers = Jira.signed(jira.finish("OPS-1"), hook_secret)
    async with TestClient(TestServer(create_app(c))) as http:
        forged = await http.post("/jira/webhook/T1", data=body, headers={**headers, "X-Hub-Signature": "sha256=00"})
        assert forged.status == 401 and actions.done == []
        ok = await http.post("/jira/webhook/T1", data=body, headers=headers)
        assert ok.status == 200 and (await ok.json())["changed"] is True
        again = await http.post("/jira/webhook/T1", data=body, headers=headers)  # Jira retries: nothing twice
        assert (await again.json())["changed"] is False
    assert actions.done == [(7, "jira", "OPS-1 is done in Jira (webhook).")]


async def test_the_poll_catches_what_no_webhook_said(container: Container, jira: Jira, db_url: str) -> None:
    c = container
    assert (await link_by_cli(db_url, jira.url)).returncode == 0
    actions = ready(c)
    await c.jira.create_for_action("T1", 7, "U_ADMIN")
    assert await c.jira.poll() == 0  # still open
    jira.finish("OPS-1")  # done in Jira; the webhook is lost
    c.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert await c.jira.poll() == 0  # looked at 5 minutes ago: not yet
    c.clock.advance(minutes=11)  # type: ignore[attr-defined]
    assert await c.jira.poll() == 1 and actions.done == [(7, "jira", "OPS-1 is done in Jira (poll).")]
    async with c.db.session() as s:
        assert (await s.exec(select(JiraIssue))).one().done_at is not None


async def test_done_in_teambot_moves_the_issue_through_a_transition(container: Container, jira: Jira, db_url: str) -> None:
    c = container
    assert (await link_by_cli(db_url, jira.url)).returncode == 0
    ready(c)
    await c.jira.create_for_action("T1", 7, "U_ADMIN")
    assert await c.jira.action_done_here("T1", 7) is True
    assert jira.issues["OPS-1"]["fields"]["status"]["statusCategory"]["key"] == "done"
    assert ("POST", "/rest/api/3/issue/OPS-1/transitions") in jira.calls


async def test_jiras_refusals_read_as_sentences(container: Container, jira: Jira, db_url: str) -> None:
    bad_token = await link_by_cli(db_url, jira.url, token="wrong")
    assert bad_token.returncode == 2 and "Jira refused (401): You are not authenticated" in bad_token.stderr
    no_project = await link_by_cli(db_url, jira.url, project="NOPE")
    assert no_project.returncode == 2 and "No project could be found with key 'NOPE'" in no_project.stderr
    not_jira = await link_by_cli(db_url, "example.com")
    assert not_jira.returncode == 2 and "not a Jira Cloud site" in not_jira.stderr
    assert "Traceback" not in bad_token.stderr + no_project.stderr + not_jira.stderr
    c = container
    assert (await link_by_cli(db_url, jira.url)).returncode == 0
    actions = ready(c)
    actions.actions[8] = ActionInfo(8, "T1", "")  # Jira's 400 with its field errors
    with pytest.raises(JiraError, match="summary: You must specify a summary of the issue"):
        await c.jira.create_for_action("T1", 8, "U_ADMIN")


def test_no_teambot_secret_no_link(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "PYTHONPATH": str(ROOT),
           "JIRA_API_TOKEN": TOKEN}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "teambot.cli", "jira", "link", "--team", "T1", "--site",
                           "acme.atlassian.net", "--project", "OPS", "--email", EMAIL],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "Set TEAMBOT_SECRET before linking Jira" in done.stderr


async def test_create_in_jira_from_a_real_action_and_back(container: Container, jira: Jira, db_url: str) -> None:
    """With the improvement loop: the button under a new action, the issue it makes, the action
    marked done (timeline, action.done) when Jira says done, and Jira moved when done here."""
    from teambot.core.cases.models import TimelineEvent
    from teambot.core.improvement.models import ActionStatus, ImprovementAction

    c = container
    done = await link_by_cli(db_url, jira.url)
    hook_secret = done.stdout.split("(shown once): ", 1)[1].split()[0]
    c.jira.box = SecretBox(SECRET.encode(), "teambot jira")
    run = c.commands.run_text
    await run("Mr Brown: cold fish", ctx())
    await run("claim 1", ctx())
    await run("apologise 1 in_person so sorry", ctx())
    await run("resolve 1 replated | the heat lamp at the pass died", ctx())
    await run("policy cause add Heat lamp", ctx())
    await run("cause 1 Heat lamp", ctx())
    made = await run("action 1 Replace the pass heat lamp", ctx())
    assert getattr(made, "choices", None) == [("Create in Jira", "action jira 1")], made
    sent = await run("action jira 1", ctx())
    assert "OPS-1" in sent.text and f"{jira.url}/browse/OPS-1" in sent.text, sent.text
    fields = jira.issues["OPS-1"]["fields"]
    assert "Replace the pass heat lamp" in fields["summary"] and "Heat lamp" in str(fields["description"])
    assert "/api/v1/cases/1" in str(fields["description"])
    body, headers = Jira.signed(jira.finish("OPS-1"), hook_secret)
    async with TestClient(TestServer(create_app(c))) as http:
        assert (await http.post("/jira/webhook/T1", data=body, headers=headers)).status == 200
    async with c.db.session() as s:
        action = (await s.exec(select(ImprovementAction))).one()
    assert action.status == ActionStatus.DONE and action.closed_by == "jira" and "OPS-1" in (action.outcome or "")
    async with c.db.session() as s:
        events = list((await s.exec(select(TimelineEvent).where(TimelineEvent.kind == "action_done"))).all())
    assert [(e.actor, e.data.get("outcome")) for e in events] == [("jira", "OPS-1 is done in Jira (webhook).")]
    # Done in Teambot first: the issue follows through a transition (a due item, after the commit).
    await run("action 1 Keep a spare bulb", ctx())
    await run("action jira 2", ctx())
    await run("action done 2 spare in the store", ctx())
    await c.deadlines.sweep()
    assert jira.issues["OPS-2"]["fields"]["status"]["statusCategory"]["key"] == "done"
