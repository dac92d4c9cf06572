"""Issue 14 in the shell: a typo's "did you mean" is a numbered button; the card's menu cancels."""

from __future__ import annotations

import io

from teambot.bootstrap import Container
from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail
from teambot.shell.session import SHELL_TEAM, ShellSession


async def test_shell_typo_button_and_card_menu(container: Container) -> None:
    script = "\n".join([
        "/recover Soup arrived cold",
        "/recover clam 1",
        "1",  # [1] /recover claim 1
        "/recover Soup arrived cold again",
        "5",  # [5] Cancel case (claim, step, flag, then the menu: category, cancel)
        "2",  # duplicate of another case
        "1",
        "/quit",
    ]) + "\n"  # fmt: skip
    out = io.StringIO()
    await ShellSession(container, stdin=io.StringIO(script), stdout=out, user="you").run()
    text = out.getvalue()
    assert "Did you mean /recover claim 1?" in text and "[1] /recover claim 1" in text
    assert "@you owns case #1 now." in text
    assert "[4] Change category  [5] Cancel case" in text.split("opened case #2.")[1]
    second = await case_detail(container.db, SHELL_TEAM, 2)
    assert second.case.status == CaseStatus.CANCELLED and second.case.duplicate_of == 1, text
