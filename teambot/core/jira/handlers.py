""" "Create in Jira" on an improvement action (`/recover action jira <action>`, and the button under a
new action when the team has Jira linked), and Jira following an action done in Teambot."""

from __future__ import annotations

from sqlmodel import col, select

from teambot.core.cases.events import CaseChanged
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import CommandHandler, HandlerTable
from teambot.core.commands.replies import ChoiceReply, ErrorReply, Reply, TextReply
from teambot.core.i18n import gettext as _
from teambot.core.i18n import use_locale
from teambot.core.jira.loop_actions import LoopActions
from teambot.core.jira.models import JiraIssue
from teambot.core.jira.ports import JiraError
from teambot.core.jira.service import JiraLinks
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import DueItem
from teambot.core.scheduling.queue import DueHandler, Outcome

DONE_KIND = "jira_done"
JIRA_COMMAND = i.ActionToJira.name.replace("_", " ")  # what the button runs: `action jira <action>`


class JiraHandlers:
    def __init__(self, jira: JiraLinks, actions: LoopActions, create_action: CommandHandler) -> None:
        self.jira = jira
        self.actions = actions
        self.inner_create = create_action  # the improvement loop's own handler, wrapped

    async def to_jira(self, intent: i.ActionToJira, ctx: Context) -> Reply:
        action = await self.actions.by_number(ctx.team_id, intent.action)
        try:
            issue = await self.jira.create_for_action(
                ctx.team_id, action.id or 0, ctx.user_id, ctx.team_language
            )
        except JiraError as err:
            return TextReply(text="✗ " + _("Jira did not take action %(number)s: %(error)s Nothing was created; try "
                                           "again later.") % {"number": intent.action, "error": err})  # fmt: skip
        link = await self.jira.linked(ctx.team_id)
        where = f"{link.site}/browse/{issue.issue_key}" if link else issue.issue_key
        with use_locale(ctx.team_language):  # said in the channel
            said = _("Action %(number)s is %(key)s in Jira: %(where)s. When it is done there, the action is marked "
                     "done here.") % {"number": intent.action, "key": issue.issue_key, "where": where}  # fmt: skip
        return TextReply(public=True, text="✓ " + said)

    async def create_action(self, intent: i.CreateAction, ctx: Context) -> Reply:
        """The improvement loop's reply, with "Create in Jira" under it when the team has Jira linked."""
        reply = await self.inner_create(intent, ctx)
        if isinstance(reply, ErrorReply) or not isinstance(reply, TextReply):
            return reply
        if await self.jira.linked(ctx.team_id) is None:
            return reply
        number = await self.actions.newest_by(
            ctx.team_id, ctx.user_id
        )  # the one just made (not read from words)
        if number is None:
            return reply
        with use_locale(ctx.team_language):  # a button in the channel
            label = _("Create in Jira")
        return ChoiceReply(
            public=True, text=reply.text, title=reply.title, choices=[(label, f"{JIRA_COMMAND} {number}")]
        )

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
        moved = await jira.action_done_here(
            item.team_id, int(item.ref or 0)
        )  # JiraError: retried with back-off
        return Outcome(result={"moved": moved})

    return {DONE_KIND: move}
