"""An interactive chat in the terminal, the way Hubot's shell adapter works.

You are a user in a channel; `/recover ...` runs the same grammar Slack and Teams use,
numbers press the buttons under the last card, `/as @name` switches who you are. Reads
line by line, so a script can pipe a whole session into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from teambot.bootstrap import Container
from teambot.core.cases.kinds import APOLOGY_METHODS, SEVERITIES, ApologyMethod, Severity
from teambot.core.cases.queries import case_detail
from teambot.core.cases.replies import CaseReply
from teambot.core.cases.summary import ACTION_LABELS, authority_note, when
from teambot.core.commands.context import Context
from teambot.core.commands.grammar import as_user
from teambot.core.commands.intents import AddStep, Grant, Intent, Open, SendFollowup, SendForm
from teambot.core.commands.replies import ChoiceReply, FormReply, Reply
from teambot.core.customer_loop.email_address import split_contact
from teambot.core.errors import DomainError
from teambot.core.i18n import format_money, pgettext, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.money import amount_input_hint
from teambot.core.policy.rules import gesture_value
from teambot.core.ports import Notice, Recipient
from teambot.core.when import DUE_EXAMPLES
from teambot.shell.render import card_actions, plain, render, said


def shell_help() -> str:
    """The shell's own commands (typed the same in every language), explained in the reader's."""
    return "\n".join([
        _("Shell commands:"),
        "  " + _("/recover ...     the Teambot command (try /recover help)"),
        "  " + _("1, 2, 3 ...      press a button under the last card or message"),
        "  " + _("/as @name        become someone else (owner, approver, admin...)"),
        "  " + _("/in #channel     move to another channel"),
        "  " + _("/whoami          who and where you are"),
        "  " + _("/later 2h        move the shell's clock forward and deliver the nudges and digests now due"),
        "  " + _("/quit            leave (Ctrl-D works too)"),
    ])  # fmt: skip


SHELL_TEAM = "shell"


SHELL_DUE_EXAMPLES = (DUE_EXAMPLES[0], DUE_EXAMPLES[2], DUE_EXAMPLES[4])  # in 2h, tomorrow at 10:00, fri 9:00


def is_yes(answer: str) -> bool:
    """A yes to a y/n question: "y", or the letter the reader's language answers yes with ("j", "o", "s")."""
    first = answer.strip().lower()[:1]
    return bool(first) and first in ("y", pgettext("the letter that answers yes to a (y/n) question", "y"))


def labelled(options: list[Button]) -> str:
    """The buttons under a message, numbered as they are pressed."""
    return "  ".join(f"[{i}] {option.label}" for i, option in enumerate(options, 1))


class ShellClock:
    """The real time plus an offset `/later` moves forward, so nudges show without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> datetime:
        self.offset += timedelta(**kwargs)
        return self.now()


async def read_line(stream: IO[str]) -> str:
    """One line, read in a daemon thread: a stop (Ctrl-C, SIGTERM) never waits for Enter, as it
    would for `asyncio.to_thread`, whose threads the interpreter joins at exit."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, exc: BaseException | None) -> None:
        if not got.done():
            got.set_exception(exc) if exc is not None else got.set_result(line or "")

    def work() -> None:
        line, exc = None, None
        try:
            line = stream.readline()
        except BaseException as err:  # a closed or undecodable stdin: told to the waiting reader
            exc = err
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(settle, line, exc)

    threading.Thread(target=work, name="teambot-stdin", daemon=True).start()
    return await got


@dataclass
class Button:
    label: str
    run: Callable[[], Awaitable[None]]


@dataclass
class Inbox:
    unread: list[Notice] = field(default_factory=list)


class ShellNotifier:
    """Channel notices print at once; direct messages wait for their person to be at the keyboard."""

    def __init__(self, session: ShellSession) -> None:
        self.session = session

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        self.session.deliver(recipient, notice)


class ShellSession:
    def __init__(
        self,
        container: Container,
        *,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        user: str = "you",
        channel: str = "general",
        tz: str | None = None,
        lang: str | None = None,
    ) -> None:
        self.container = container
        self.lang = lang  # --lang: the shell's word on the person's language, as Slack's locale is
        self.language = lang or "en"  # what the last command was answered in; its reply renders in it
        self.team_language = "en"  # what the channel reads (its notices), as the last command found it
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.user = user
        self.channel = channel
        self.tz = tz or container.settings.default_timezone
        self.buttons: list[Button] = []
        self.inboxes: dict[str, Inbox] = {}
        self._held: list[Notice] | None = None  # DMs to the current user, shown after the reply
        self.files_dir = Path(tempfile.gettempdir()) / "teambot-files"
        self.interactive = bool(getattr(self.stdin, "isatty", lambda: False)())
        container.notifier.register("shell", ShellNotifier(self))

    # ----- io ------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    async def read(self, prompt: str) -> str | None:
        if self.interactive:
            self.stdout.write(prompt)
            self.stdout.flush()
        line = await read_line(self.stdin)
        if line == "":
            return None
        line = line.rstrip("\n")
        if not self.interactive:
            self.say(f"{prompt}{line}")  # a piped session still reads as a transcript
        return line

    async def ask(self, question: str, *, required: bool = False) -> str:
        while True:
            answer = await self.read(f"  {question}: ")
            if answer is None:
                raise EOFError
            if answer.strip() or not required:
                return answer.strip()
            self.say("  " + _("(this one is needed; type an answer)"))

    async def choose(self, question: str, options: list[str]) -> int:
        listing = "  ".join(f"[{i}] {o}" for i, o in enumerate(options, 1))
        while True:
            answer = await self.ask(f"{question} {listing}", required=True)
            if answer.isdecimal() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            self.say("  " + _("(type a number from 1 to %(count)s)") % {"count": len(options)})

    @property
    def ctx(self) -> Context:
        return Context(SHELL_TEAM, self.channel, self.user, platform="shell", tz=self.tz, locale=self.lang)

    # ----- notices -------------------------------------------------------------------------

    def deliver(self, recipient: Recipient, notice: Notice) -> None:
        """A channel post reads in the team's language; the shell's words about a DM in its person's."""
        if recipient.kind == "card":
            return  # the shell has no card kept in place: `/recover show` prints it as it is now
        if recipient.kind == "channel":
            self.say(plain(f"🔔 [#{recipient.id}] {notice.text}"))
            with use_locale(self.team_language):
                self._save_attachments(notice)
            return
        if recipient.id == self.user and self._held is not None:
            self._held.append(notice)
        elif recipient.id == self.user:
            self._show_dm(notice)
        else:
            self.inboxes.setdefault(recipient.id, Inbox()).unread.append(notice)
            with use_locale(self.language):
                told = _("(Teambot sent a direct message to %(who)s; /as @%(id)s to read it)") % {
                    "who": f"<@{recipient.id}>", "id": recipient.id}  # fmt: skip
            self.say(plain(f"  {told}"))

    def _save_attachments(self, notice: Notice) -> None:
        """A terminal can't show a chart, so it goes to a file whose path is printed."""
        for attachment in notice.attachments:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / Path(attachment.filename).name
            path.write_bytes(attachment.content)
            self.say(f"📎 {attachment.title or attachment.filename}: {path}")

    def _show_dm(self, notice: Notice) -> None:
        with use_locale(self.language):
            heading = _("DM to %(who)s") % {"who": f"<@{self.user}>"}
            self.say(plain(f"🔔 [{heading}] {notice.text}"))
            self._dm_buttons(notice)

    def _dm_buttons(self, notice: Notice) -> None:
        approval = notice.data.get("approval_id")
        if notice.kind == "approval_request" and approval:
            self.buttons = [
                Button(_("Approve"), lambda: self.command(f"approve {approval}")),
                Button(_("Deny"), lambda: self._deny(int(approval))),
            ]
            self.say(labelled(self.buttons))
        number = notice.data.get("number")
        if notice.kind == "followup_due" and number:
            self.buttons = [
                Button(_("Satisfied"), lambda: self._answer(int(number), "satisfied")),
                Button(_("Not yet"), lambda: self._answer(int(number), "not")),
                Button(_("Snooze"), lambda: self._snooze(int(number))),
            ]
            self.say(labelled(self.buttons))

    async def _answer(self, n: int, verdict: str) -> None:
        score = await self.ask(_("Their score, 1 to 5"), required=True)
        await self.command(f"followup {n} {verdict} {score}")

    async def _snooze(self, n: int) -> None:
        span = await self.ask(_("Snooze for (1h, 1d, tomorrow; empty for tomorrow morning)"))
        await self.command(f"snooze {n} for {span}" if span else f"snooze {n}")

    async def later(self, text: str) -> None:
        """`/later 2h`: time passes in the shell; whatever falls due is delivered now."""
        from teambot.core.scheduling.working_hours import parse_span

        advance = getattr(self.container.clock, "advance", None)
        scheduler = self.container.scheduler
        if advance is None:
            self.say(_("/later needs the shell's own clock; start it with `teambot shell`."))
            return
        try:
            span = parse_span(text)
        except DomainError as err:
            self.say(plain(f"✗ {err}"))
            return
        advance(minutes=span.total_seconds() / 60)
        self.say("⏩ " + _("%(span)s later: %(when)s (%(zone)s).") % {
            "span": text.strip(), "when": when(self.container.clock.now(), self.tz), "zone": self.tz})  # fmt: skip
        report = await scheduler.tick()  # type: ignore[attr-defined]
        if not report.sent:
            self.say("  " + _("(nothing fell due)"))

    # ----- commands ------------------------------------------------------------------------

    async def run(self) -> None:
        self.language, self.team_language = await self.container.commands.language_of(self.ctx)
        with use_locale(self.language):
            self.say(_("Teambot local shell. You are @%(user)s in #%(channel)s. Type /recover help, or /help for "
                       "shell commands.") % {"user": self.user, "channel": self.channel})  # fmt: skip
        while True:
            line = await self.read(f"@{self.user} in #{self.channel}> ")
            if line is None:
                if self.interactive:  # Ctrl-D left the cursor after the prompt
                    self.stdout.write("\n")
                break
            try:
                if not await self.handle(line):
                    break
            except EOFError:
                break
        with use_locale(self.language):
            self.say(_("Bye."))

    async def handle(self, line: str) -> bool:
        with use_locale(self.language):
            return await self._handle(line)

    async def _handle(self, line: str) -> bool:
        text = line.strip()
        if not text:
            return True
        word, _space, rest = text.partition(" ")
        if word in ("/quit", "/exit"):
            return False
        if word == "/help":
            self.say(shell_help())
        elif word == "/as":
            self.switch_user(rest.strip())
        elif word == "/in":
            self.channel = rest.strip().lstrip("#") or self.channel
            self.say(_("You are in #%(channel)s.") % {"channel": self.channel})
        elif word == "/later":
            await self.later(rest)
        elif word == "/whoami":
            self.say(_("You are @%(user)s in #%(channel)s (time zone %(zone)s).") % {
                "user": self.user, "channel": self.channel, "zone": self.tz})  # fmt: skip
        elif word == "/recover":
            await self.command(rest)
        elif text.isdecimal():
            await self.press(int(text))
        else:
            self.say(_("(just chatting; type /recover help to use Teambot, /help for the shell)") + f" {text}")
        return True

    def switch_user(self, who: str) -> None:
        user = as_user(who) or who.lstrip("@")
        if not user:
            self.say(_("Usage: /as @name"))
            return
        self.user = user  # the last card stays on screen, so its buttons stay pressable
        self.say(_("You are now @%(user)s.") % {"user": user})
        for notice in self.inboxes.pop(user, Inbox()).unread:
            self._show_dm(notice)

    async def press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self.say(_("There is no such button; buttons are the numbers under the last card."))
            return
        await self.buttons[number - 1].run()

    async def command(self, text: str | Intent) -> None:
        """Run typed text, or an intent a guided form built (its answers are never re-read as text)."""
        self._held = []
        ctx = self.ctx
        try:
            if isinstance(text, str):
                reply = await self.container.commands.run_text(text, ctx)
            else:
                reply = await self.container.commands.run(text, ctx)
        finally:
            held, self._held = self._held, None
        self.language, self.team_language = ctx.language, ctx.team_language
        with use_locale(self.language):
            await self.show(reply)
        for notice in held:
            self._show_dm(notice)

    async def show(self, reply: Reply) -> None:
        if isinstance(reply, FormReply):
            self.say(render(reply, self.container.clock.now(), self.tz))
            if reply.form == "send":
                await self.send_form(int(reply.prefill["number"]), str(reply.prefill.get("body", "")))
            else:
                await self.open_form()
            return
        self.say(render(reply, self.container.clock.now(), self.tz))
        if isinstance(reply, ChoiceReply):
            self.buttons = [Button(label, self._run(command)) for label, command in reply.choices]
            self.say("  ".join(f"[{i}] {plain(label)}" for i, (label, _command) in enumerate(reply.choices, 1)))
        if isinstance(reply, CaseReply) and reply.detail is not None:
            number = reply.detail.case.number
            actions = card_actions(reply.detail)
            self.buttons = [Button(said(ACTION_LABELS.get(action, action)), self._action(action, number))
                            for action in actions]  # fmt: skip
            if any(req.requested_by == self.user for req in reply.detail.pending):
                self.buttons.append(Button(said(ACTION_LABELS["withdraw"]), self._action("withdraw", number)))
                self.say(f"  [{len(self.buttons)}] {said(ACTION_LABELS['withdraw'])}")
            for label, command in reply.choices:  # "Change cause" after a resolve
                self.buttons.append(Button(label, self._run(command)))
                self.say(f"  [{len(self.buttons)}] {plain(label)}")

    def _run(self, command: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.command(command)

        return run

    # ----- the guided form and the buttons -------------------------------------------------

    async def open_form(self) -> None:
        while True:  # one question: the name, and the address the written follow-up goes to
            answer = await self.ask(_("Customer (name, optionally <email> for the follow-up mail; optional)"))
            try:
                customer, email = split_contact(answer)
                break
            except DomainError as err:
                self.say(plain(f"  ✗ {err}"))
        problem = await self.ask(_("What went wrong"), required=True)
        wants = await self.ask(_("What do they want, in their words (optional)"))
        categories = list((await self.container.service.policy(SHELL_TEAM, self.user)).categories)
        category = categories[await self.choose(_("Category"), categories)] if categories else None
        severity = SEVERITIES[await self.choose(_("Severity"), [Severity(level).choice for level in SEVERITIES])]
        own = is_yes(await self.ask(_("Will you own it? (y/n)")))
        intent = Open(customer=customer, problem=problem, wants=wants, category=category, severity=severity, own=own,
                      email=email or None, text=problem)  # fmt: skip
        await self.show(await self.container.commands.run(intent, self.ctx))

    def _action(self, action: str, n: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await getattr(self, f"_do_{action}")(n)

        return run

    async def _do_claim(self, n: int) -> None:
        await self.command(f"claim {n}")

    async def _do_apologise(self, n: int) -> None:
        methods = [ApologyMethod(method).choice for method in APOLOGY_METHODS]
        how = APOLOGY_METHODS[await self.choose(_("How did you apologise?"), methods)]
        words = await self.ask(_("The words you used (optional)"))
        await self.command(f"apologise {n} {how} {words}".strip())

    async def _do_grant(self, n: int) -> None:
        detail = await case_detail(self.container.db, SHELL_TEAM, n)
        policy, cur = detail.policy, detail.currency
        self.say("  " + authority_note(detail.authority_left(self.user), cur))
        options = [f"{item['name']} ({format_money(gesture_value(item), cur)})" for item in policy.catalogue]
        pick = await self.choose(_("Which gesture?"), [*options, _("something else")])
        example = amount_input_hint(cur)
        if pick < len(policy.catalogue):
            gesture = policy.catalogue[pick]["name"]
            shown = format_money(gesture_value(policy.catalogue[pick]), cur)
            amount = await self.ask(_("Value in %(currency)s, such as %(example)s (empty for %(value)s)") % {
                "currency": cur, "example": example, "value": shown})  # fmt: skip
        else:
            gesture = await self.ask(_("Describe the gesture"), required=True)
            amount = await self.ask(_("Its value in %(currency)s, such as %(example)s") % {
                "currency": cur, "example": example}, required=True)  # fmt: skip
        await self.command(Grant(number=n, gesture=gesture, amount=amount or None, text=f"grant {n} {gesture} {amount}".strip()))

    async def _do_step(self, n: int) -> None:
        text = await self.ask(_("Next step"), required=True)
        owner = await self.ask(_("Owner (@name, empty for the case owner)"))
        due = await self.ask(_("Due (such as %(examples)s; optional)") % {"examples": ", ".join(SHELL_DUE_EXAMPLES)})
        await self.command(AddStep(number=n, what=text, owner=owner.lstrip("@") or None, due=due or None,
                                   text=f"step {n} {text}"))  # fmt: skip

    async def _do_handover(self, n: int) -> None:
        who = await self.ask(_("Hand over to (@name)"), required=True)
        await self.command(f"handover {n} @{who.lstrip('@')}")

    async def _do_flag(self, n: int) -> None:
        note = await self.ask(_("What should change in the process"), required=True)
        await self.command(f"flag {n} {note}")

    async def _do_resolve(self, n: int) -> None:
        summary = await self.ask(_("What did you do to put it right"), required=True)
        cause = await self.ask(_("Root cause"), required=True)
        await self.command(f"resolve {n} {summary} | {cause}")

    async def _do_followup(self, n: int) -> None:
        satisfied = await self.choose(_("Is the customer satisfied?"), [_("satisfied"), _("not yet")]) == 0
        score = await self.ask(_("Their score, 1 to 5"), required=True)
        won = await self.choose(_("Won back?"), [_("won back"), _("lost"), _("don't know")])
        tail = {0: " won", 1: " lost", 2: ""}[won]
        await self.command(f"followup {n} {'satisfied' if satisfied else 'not'} {score}{tail}")

    async def _do_reopen(self, n: int) -> None:
        reason = await self.ask(_("Why reopen (optional)"))
        await self.command(f"reopen {n} {reason}".strip())

    async def _do_shoutout(self, n: int) -> None:
        case = await self.container.service.case(SHELL_TEAM, n)
        who = await self.ask(_("Shout out to (@name, empty for @%(owner)s)") % {"owner": case.owner_id})
        message = await self.ask(_("What did they do well"), required=True)
        person = who.lstrip("@") or case.owner_id or ""
        await self.command(f"shoutout @{person} {n} {message}")

    async def _do_category(self, n: int) -> None:
        categories = list((await self.container.service.policy(SHELL_TEAM, self.user)).categories)
        await self.command(f"category {n} {categories[await self.choose(_('Move to'), categories)]}")

    async def _do_cancel(self, n: int) -> None:
        why = await self.choose(_("Why cancel it?"), [_("opened by mistake"), _("duplicate of another case"), _("other")])
        if why == 0:
            await self.command(f"cancel {n} mistake")
        elif why == 1:
            other = await self.ask(_("Which case carries on (number)"), required=True)
            await self.command(f"cancel {n} duplicate {other.lstrip('#')}")  # the grammar's "duplicate [of] <case>"
        else:
            await self.command(f"cancel {n} {await self.ask(_('Reason'), required=True)}")

    async def _do_withdraw(self, n: int) -> None:
        detail = await case_detail(self.container.db, SHELL_TEAM, n)
        mine = [a for a in detail.pending if a.requested_by == self.user]
        if mine:
            await self.command(f"withdraw {mine[0].id}")

    async def _do_draft(self, n: int) -> None:
        await self.command(f"draft {n}")

    async def _do_send(self, n: int) -> None:
        await self.show(await self.container.commands.run(SendForm(number=n), self.ctx))

    async def send_form(self, n: int, body: str) -> None:
        """The draft, editable: keep it, or type the text to send instead (a line with . ends it)."""
        self.say("\n".join(f"  | {line}" for line in body.split("\n")))
        self.say("  " + _("Teambot adds the greeting, your name and the feedback link."))
        pick = await self.choose(_("Send it?"), [_("send as drafted"), _("write my own text"), _("cancel")])
        if pick == 2:
            self.say(_("Not sent."))
            return
        text = None
        if pick == 1:
            self.say("  " + _("Type the text; a line with only . ends it."))
            lines: list[str] = []
            while (line := await self.read("  > ")) is not None and line.strip() != ".":
                lines.append(line)
            text = "\n".join(lines)
        intent = SendFollowup(number=n, body=text, text=f"send {n}")
        await self.show(await self.container.commands.run(intent, self.ctx))

    async def _deny(self, approval: int) -> None:
        reason = await self.ask(_("Reason (optional)"))
        await self.command(f"deny {approval} {reason}".strip())
