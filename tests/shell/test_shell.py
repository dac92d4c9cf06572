"""The local shell, driven by a script exactly as a person would type it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from teambot.bootstrap import Container
from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail
from teambot.shell.session import SHELL_TEAM, ShellSession

SCRIPT = """\
/recover policy
/recover Mrs Patel: no hot water in room 412 wants: a room move #booking !high
/as @ana
1
/recover apologise 1 in_person I am so sorry, that should never happen
/recover grant 1 Waived fee
/recover grant 1 Room upgrade
/as @you
1
/as @ana
/recover show 1
/recover resolve 1 moved her to 512 and waived the fee | boiler not serviced
/recover followup 1 satisfied 5 won
/recover timeline 1
/recover frobnicate
/recover grant 1 gift card -5
/quit
"""


async def _run(container: Container, script: str) -> str:
    out = io.StringIO()
    session = ShellSession(container, stdin=io.StringIO(script), stdout=out, user="you")
    await session.run()
    return out.getvalue()


async def test_a_scripted_session_runs_a_whole_recovery(container: Container) -> None:
    out = await _run(container, SCRIPT)
    assert "Teambot local shell. You are @you in #general" in out
    assert "@you opened case #1." in out
    assert "@ana owns case #1 now." in out  # button [1] was Claim
    assert "Granted Waived fee ($25.00) on case #1." in out
    assert "is above your authority" in out and "I've asked @you to approve it." in out
    assert "(Teambot sent a direct message to @you; /as @you to read it)" in out
    assert "[DM to @you] @ana asks to give Room upgrade ($80.00)" in out
    assert "@you approved Room upgrade (request 1)." in out  # button [1] was Approve
    assert "[DM to @ana] @you approved Room upgrade ($80.00) on case #1." in out
    assert "Customer satisfied (5/5); case #1 is closed." in out
    timeline = out.split("Timeline of case #1")[1]
    for line in ("opened the case", "took ownership", "apologised (in person)", "granted Waived fee",
                 "asked approval for Room upgrade", "approved Room upgrade", "resolved: moved her",
                 "recorded the follow-up: satisfied, 5/5"):  # fmt: skip
        assert line in timeline, line
    assert "I don't know frobnicate" in out
    assert "✗ Case #1 is closed, so you can't grant compensation." in out
    assert "you typed: grant 1 gift card -5" in out  # the input is echoed back, not lost
    assert "Traceback" not in out

    detail = await case_detail(container.db, SHELL_TEAM, 1)
    assert detail.case.status == CaseStatus.CLOSED and detail.case.owner_id == "ana"
    assert len(detail.grants) == 2


async def test_the_guided_form_asks_question_by_question(container: Container) -> None:
    script = "/recover\nMr Lee\nThe delivery came two days late\nhis money back\n3\n3\ny\n/recover mine\n"
    out = await _run(container, script)
    assert "Opening a case." in out
    assert "@you opened case #1." in out
    detail = await case_detail(container.db, SHELL_TEAM, 1)
    c = detail.case
    assert (c.customer_name, c.problem, c.wants, c.category, c.severity, c.owner_id) == (
        "Mr Lee", "The delivery came two days late", "his money back", "delivery", "high", "you",
    )  # fmt: skip
    assert "Cases you own\n  #1" in out


async def test_buttons_that_need_input_prompt_for_it(container: Container) -> None:
    script = "/recover Cold soup\n1\n1\n2\nSorry!\n1\n6\n\n/in #kitchen\n/whoami\n12\nhello\n"
    out = await _run(container, script)
    assert "@you apologised (phone) on case #1." in out
    assert "Granted Waived fee ($25.00) on case #1." in out  # catalogue pick 6, default value
    assert "You are @you in #kitchen" in out
    assert "There is no such button" in out
    assert "just chatting" in out


def test_teambot_shell_reads_piped_stdin(tmp_path: Path) -> None:
    """The real console script, as a user would pipe into it, on a fresh SQLite file."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TEAMBOT_SCHEDULER": "false"}
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID"):
        env.pop(key, None)
    teambot = Path(sys.executable).parent / "teambot"
    done = subprocess.run(
        [str(teambot), "run"], input="/recover The printer ate the contract\n/recover list\n",
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "starting the local shell" in done.stderr
    assert "opened case #1" in done.stdout and "#1 · Open, nobody owns it yet" in done.stdout
    export = subprocess.run(
        [str(teambot), "export", "--csv"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert export.returncode == 0, export.stderr
    rows = export.stdout.strip().splitlines()
    assert rows[0].startswith("team,case,status") and rows[1].startswith("shell,1,open,")


def test_a_bad_setting_stops_start_up_with_its_name(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "mysql://nope", "PORT": "seventy"}
    teambot = Path(sys.executable).parent / "teambot"
    done = subprocess.run(
        [str(teambot), "run"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 2
    assert "DATABASE_URL" in done.stderr and "PORT" in done.stderr and "Traceback" not in done.stderr
