"""The team's policy read and changed: the cold path of admins, kept apart from the case steps."""

from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError

from teambot.core.cases.models import TimelineEvent
from teambot.core.db import Database
from teambot.core.errors import Conflict
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import load_policy
from teambot.core.policy.settings import PolicyChange, apply_change
from teambot.core.ports import Clock

RETRIES = 5  # an admin who lost a race on the policy's version starts over at most this often


class PolicyService:
    """Read a team's policy (a team's first command makes it) and change one setting at a time."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def policy(self, team_id: str, actor: str, platform: str = "shell") -> Policy:
        async with self.db.session() as s:
            return await load_policy(s, team_id, actor, self.clock.now(), platform)

    async def change_policy(
        self, team_id: str, actor: str, change: PolicyChange, platform: str = "shell"
    ) -> str:
        """One setting changed, the policy as it was kept in the timeline; a concurrent change retries."""
        for _attempt in range(RETRIES):
            async with self.db.session() as s:
                now = self.clock.now()
                policy = await load_policy(s, team_id, actor, now, platform)
                before = policy.model_dump(exclude={"created_at", "updated_at", "version"})
                message = apply_change(policy, change, actor)
                policy.updated_at = now
                s.add(
                    TimelineEvent(
                        team_id=team_id, kind="policy_changed", actor=actor, at=now,
                        data={"setting": change.setting, "args": change.args, "before": before},
                    )
                )  # fmt: skip
                try:
                    await s.commit()
                except StaleDataError:
                    continue
                return message
        raise Conflict(
            _("Another admin changed the policy at the same moment."), _("Look at it and try again.")
        )
