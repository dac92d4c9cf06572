""""Create in Jira" on an improvement action (`/recover action jira <action>`, and the button under a
new action when the team has Jira linked), and Jira following an action done in Teambot."""

from __future__ import annotations

import re

from sqlmodel import col, select

from teambot.core.cases.events import CaseChanged
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import Handler, HandlerTable
from teambot.core.commands.replies import ChoiceReply, Reply, TextReply
from teambot.core.jira.loop_actions import LoopActions
from teambot.core.jira.models import JiraIssue
from teambot.core.jira.ports import JiraError
from teambot.core.jira.service import JiraLinks
from teambot.core.scheduling.deadlines import Deadlines, Outcome
from teambot.core.scheduling.deadlines import Handler as DueHandler
from teambot.core.scheduling.models import DueItem

DONE_KIND = "jira_done"


class JiraHandlers:
    def __init__(self, jira: JiraLinks, actions: LoopActions, create_action: Handler) -> None:
        self.jira = jira
        self.actions = actions
        self.inner_create = create_action  # the improvement loop's own handler, wrapped

    async def to_jira(self, intent: i.ActionToJira, ctx: Context) -> Reply:
        action = await self.actions.by_number(ctx.team_id, intent.action)
        try:
            issue = await self.jira.create_for_action(ctx.team_id, action.id or 0, ctx.user_id)
        except JiraError as err:
            return TextReply(text=f"✗ Jira did not take action {intent.action}: {err} Nothing was created; try again later.")
        link = await self.jira.linked(ctx.team_id)
        where = f"{link.site}/browse/{issue.issue_key}" if link else issue.issue_key
        return TextReply(public=True, text=f"✓ Action {intent.action} is {issue.issue_key} in Jira: {where}. "
                         "When it is done there, the action is marked done here.")  # fmt: skip

    async def create_action(self, intent: i.CreateAction, ctx: Context) -> Reply:
        reply = await self.inner_create(intent, ctx)
        number = re.search(r"Improvement action (\d+)", getattr(reply, "text", ""))
        if number is None or await self.jira.linked(ctx.team_id) is None:
            return reply
        return ChoiceReply(public=True, text=reply.text,  # type: ignore[attr-defined]
                           choices=[("Create in Jira", f"action jira {number.group(1)}")])  # fmt: skip

    def handlers(self) -> HandlerTable:
        return {i.ActionToJira: self.to_jira, i.CreateAction: self.create_action}


async def on_case_changed(event: CaseChanged) -> None:
    """An action done in Teambot whose Jira issue is still open: a due item moves the issue (the
    HTTP call happens after the commit, retried when Jira is away)."""
    if event.kind != "action_done" or not event.data.get("action_id"):
        return
    with event.session.no_autoflush:
        open_issue = (await event.session.exec(
            select(JiraIssue.id).where(JiraIssue.action_id == event.data["action_id"], col(JiraIssue.done_at).is_(None))
        )).first()  # fmt: skip
    if open_issue is None:
        return
    event.session.add(DueItem(key=f"{DONE_KIND}:{event.data['action_id']}", team_id=event.case.team_id, kind=DONE_KIND,
                              case_id=event.case.id, ref=str(event.data["action_id"]), due_at=event.at,
                              created_at=event.at))  # fmt: skip


def due_handlers(jira: JiraLinks) -> dict[str, DueHandler]:
    async def move(dl: Deadlines, item: DueItem) -> Outcome:
        moved = await jira.action_done_here(item.team_id, int(item.ref or 0))  # JiraError: retried with back-off
        return Outcome(result={"moved": moved})

    return {DONE_KIND: move}
