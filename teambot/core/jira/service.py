"""The Jira link of a team: set on the server, shown (site and project only) in `/recover policy`,
used to create an issue from an improvement action, and to mark the action done when its issue
is done (Jira's signed webhook, or a poll every 15 minutes)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from teambot.core.db import Database
from teambot.core.errors import BadInput, InvalidStep, NotFound
from teambot.core.i18n import N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.improvement.models import ImprovementAction
from teambot.core.jira.models import JiraIssue, JiraLink
from teambot.core.jira.ports import ActionInfo, Actions, JiraApi, JiraCredentials, JiraError
from teambot.core.ports import Clock
from teambot.core.secretbox import SecretBox
from teambot.core.webhooks.signing import is_loopback

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(minutes=15)
SITE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\.atlassian\.net")
PROJECT = re.compile(r"[A-Z][A-Z0-9_]{1,31}")
BOT = "jira"
# The note on an action its Jira issue closed, by how Teambot learned the issue is done.
DONE_NOTES = {
    "jira": N_("%(key)s is done in Jira."),
    "webhook": N_("%(key)s is done in Jira (webhook)."),
    "poll": N_("%(key)s is done in Jira (poll)."),
}


def base_url(site: str) -> str:
    """`acme.atlassian.net` → https://acme.atlassian.net; an http(s) URL to this machine is taken as
    it is (a local stand-in, for testing)."""
    raw = site.strip().rstrip("/").lower()
    if SITE.fullmatch(raw):
        return f"https://{raw}"
    m = re.fullmatch(r"https?://([^/:]+|\[[^]]+\])(:\d+)?", raw)
    if m and is_loopback(m.group(1).strip("[]")):
        return raw
    raise BadInput(
        _("%(site)r is not a Jira Cloud site.") % {"site": site}, _("Give it as <name>.atlassian.net.")
    )


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Jira's admin webhooks sign the raw body: `X-Hub-Signature: sha256=<hex HMAC-SHA256>`."""
    if not header or not header.startswith("sha256="):
        return False
    good = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(good, header.removeprefix("sha256=").strip().lower())


def description(action: ActionInfo) -> dict[str, Any]:
    """The issue's description as Atlassian Document Format: the action, its cause, its cases."""

    def para(*parts: dict[str, Any]) -> dict[str, Any]:
        return {"type": "paragraph", "content": list(parts)}

    def text(value: str, link: str | None = None) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "text", "text": value}
        if link:
            node["marks"] = [{"type": "link", "attrs": {"href": link}}]
        return node

    content = [para(text(_("Improvement action from Teambot: %(title)s") % {"title": action.title}))]
    if action.cause:
        content.append(para(text(_("Cause: %(cause)s") % {"cause": action.cause})))
    if action.cases:
        items = [{"type": "listItem", "content": [para(text(_("Case #%(number)s") % {"number": number}, link or None))]}
                 for number, link in action.cases]  # fmt: skip
        content += [para(text(_("Cases:"))), {"type": "bulletList", "content": items}]
    return {"type": "doc", "version": 1, "content": content}


class JiraLinks:
    def __init__(self, db: Database, clock: Clock, api: JiraApi, box: SecretBox | None,
                 actions: Actions | None = None) -> None:  # fmt: skip
        self.db = db
        self.clock = clock
        self.api = api
        self.box = box  # None when TEAMBOT_SECRET is not set: linking is refused
        self.actions = actions

    def _box(self) -> SecretBox:
        if self.box is None:
            raise InvalidStep(
                _("Set TEAMBOT_SECRET before linking Jira: the API token is kept encrypted with it."),
                _("Generate one with: `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"),
            )
        return self.box

    async def link(
        self, team_id: str, site: str, project: str, email: str, token: str
    ) -> tuple[JiraLink, str]:
        """Check the credentials against the project, then store them (the token sealed). Returns the
        link and the secret to give Jira's webhook (shown once)."""
        box, url, key = self._box(), base_url(site), project.strip().upper()
        if not PROJECT.fullmatch(key):
            raise BadInput(_("%(project)r is not a Jira project key.") % {"project": project},
                           _("Use the key shown in Jira, such as OPS."))  # fmt: skip
        if "@" not in email or not token.strip():
            raise BadInput(_("Give the Atlassian account's email and an API token."),
                           _("Make a token at id.atlassian.com → Security → API tokens."))  # fmt: skip
        creds = JiraCredentials(url, email.strip(), token.strip())
        await self.api.project(creds, key)  # JiraError with Jira's own words when refused
        now, hook_secret = self.clock.now(), secrets.token_urlsafe(32)
        async with self.db.session() as s:
            row = await s.get(JiraLink, team_id)
            if row is None:
                row = JiraLink(team_id=team_id, site=url, project=key, email=creds.email, token="", webhook_secret="",
                               created_at=now, updated_at=now)  # fmt: skip
            row.site, row.project, row.email, row.updated_at = url, key, creds.email, now
            row.token, row.webhook_secret = box.seal(creds.token), box.seal(hook_secret)
            s.add(row)
            await s.commit()
            await s.refresh(row)
        return row, hook_secret

    async def linked(self, team_id: str) -> JiraLink | None:
        async with self.db.session() as s:
            return await s.get(JiraLink, team_id)

    def _creds(self, link: JiraLink) -> JiraCredentials:
        return JiraCredentials(link.site, link.email, self._box().open(link.token))

    async def create_for_action(
        self, team_id: str, action_id: int, actor: str, language: str | None = None
    ) -> JiraIssue:
        """One issue per action: asking again gives the issue made the first time. The issue is written
        in `language` (the team's: the team reads it in Jira)."""
        if self.actions is None:
            raise InvalidStep(_("Improvement actions are not available in this build."), _("Update Teambot."))
        link = await self.linked(team_id)
        if link is None:
            raise InvalidStep(_("This team has no Jira project linked."),
                              _("An operator links one on the server: teambot jira link --team ... (see the README)."))  # fmt: skip
        async with self.db.session() as s:
            made = (await s.exec(select(JiraIssue).where(JiraIssue.action_id == action_id))).first()
        if made is not None:
            return made
        with use_locale(language):
            action = await self.actions.get(team_id, action_id)
            fields = {"project": {"key": link.project}, "summary": action.title[:250], "issuetype": {"name": "Task"},
                      "description": description(action), "labels": ["teambot"]}  # fmt: skip
        created = await self.api.create_issue(self._creds(link), fields)
        async with self.db.session() as s:
            row = JiraIssue(team_id=team_id, action_id=action_id, issue_key=created.key, issue_id=created.id,
                            created_by=actor, created_at=self.clock.now())  # fmt: skip
            s.add(row)
            await s.commit()
            await s.refresh(row)
            return row

    async def issue_done(self, issue_key: str, *, team_id: str | None = None, how: str = "jira") -> bool:
        """`how`: jira | webhook | poll, said in the action's note."""
        """The issue is done in Jira: its action is marked done (once). False when nothing changed."""
        async with self.db.session() as s:
            q = select(JiraIssue).where(
                JiraIssue.issue_key == issue_key.upper(), col(JiraIssue.done_at).is_(None)
            )
            if team_id is not None:
                q = q.where(JiraIssue.team_id == team_id)
            row = (await s.exec(q)).first()
            if row is None:
                return False
            row.done_at = row.checked_at = self.clock.now()
            s.add(row)
            await s.commit()
        if self.actions is not None:
            note = _(DONE_NOTES.get(how, DONE_NOTES["jira"])) % {"key": row.issue_key}
            await self.actions.mark_done(row.team_id, row.action_id, BOT, note)
        return True

    async def on_webhook(
        self, team_id: str, body: bytes, signature: str | None, payload: dict[str, Any]
    ) -> bool:
        link = await self.linked(team_id)
        if link is None:
            raise NotFound(_("No Jira link for this team."))
        if not signature_ok(self._box().open(link.webhook_secret), body, signature):
            raise PermissionError  # the API answers 401 and logs why
        issue = payload.get("issue") or {}
        category = (((issue.get("fields") or {}).get("status") or {}).get("statusCategory") or {}).get("key")
        if category == "done" and isinstance(issue.get("key"), str):
            return await self.issue_done(issue["key"], team_id=team_id, how="webhook")
        return False

    async def poll(self, now: datetime | None = None) -> int:
        """Every open issue not looked at for 15 minutes: done in Jira? (the webhook's safety net)."""
        now = now or self.clock.now()
        async with self.db.session() as s:
            rows = list((await s.exec(
                select(JiraIssue).where(col(JiraIssue.done_at).is_(None),
                                        or_(col(JiraIssue.checked_at).is_(None), col(JiraIssue.checked_at) <= now - POLL_EVERY))
                .limit(200)
            )).all())  # fmt: skip
            links = {link.team_id: link for link in (await s.exec(
                select(JiraLink).where(col(JiraLink.team_id).in_({r.team_id for r in rows})))).all()}  # fmt: skip
        done = 0
        for row in rows:
            link = links.get(row.team_id)
            if link is None:
                continue
            try:
                status = await self.api.issue_status(self._creds(link), row.issue_key)
            except JiraError as exc:
                log.warning("jira poll of %s failed: %s", row.issue_key, exc)
                continue
            if status == "done" and await self.issue_done(row.issue_key, team_id=row.team_id, how="poll"):
                done += 1
                continue
            async with self.db.session() as s:
                fresh = await s.get(JiraIssue, row.id)
                if fresh is not None:
                    fresh.checked_at = now
                    s.add(fresh)
                    await s.commit()
        return done

    async def issue_keys(self, team_id: str) -> dict[int, str]:
        """Action number -> Jira issue key, for the team's actions sent to Jira."""
        async with self.db.session() as s:
            rows = await s.exec(
                select(ImprovementAction.number, JiraIssue.issue_key)
                .join(JiraIssue, col(JiraIssue.action_id) == col(ImprovementAction.id))
                .where(JiraIssue.team_id == team_id)
            )  # fmt: skip
            return {int(n): str(k) for n, k in rows.all()}

    async def action_done_here(self, team_id: str, action_id: int) -> bool:
        """An action marked done in Teambot moves its issue to done in Jira (when a transition allows)."""
        async with self.db.session() as s:
            row = (await s.exec(select(JiraIssue).where(JiraIssue.action_id == action_id,
                                                         col(JiraIssue.done_at).is_(None)))).first()  # fmt: skip
            link = await s.get(JiraLink, team_id)
        if row is None or link is None:
            return False
        moved = await self.api.transition_to_done(self._creds(link), row.issue_key)
        async with self.db.session() as s:
            fresh = await s.get(JiraIssue, row.id)
            if fresh is not None:
                fresh.done_at = fresh.checked_at = self.clock.now()
                s.add(fresh)
                await s.commit()
        return moved
