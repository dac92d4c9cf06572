"""The case service: every step of a recovery, composed from one small module per step.

Each step module (`opening`, `ownership`, `compensation`, `approvals`, `progress`, `resolution`,
`records`, `card_store`) adds its steps to `CaseSteps` (`common.py`: the shared reads and the
load-check-change-record-commit loop). `RecoveryService` only puts them together, so callers keep
one object to hold. The policy lives in `PolicyService` (`core/policy/service.py`); `policy()` and
`change_policy()` here are its two delegates, kept because the adapters read the policy through the
case service.
"""

from __future__ import annotations

from teambot.core.cases.approvals import ApprovalSteps
from teambot.core.cases.card_store import CardRefSteps
from teambot.core.cases.compensation import CompensationSteps
from teambot.core.cases.events import CaseEvents
from teambot.core.cases.opening import OpeningSteps
from teambot.core.cases.ownership import OwnershipSteps
from teambot.core.cases.progress import ProgressSteps
from teambot.core.cases.records import RecordSteps
from teambot.core.cases.resolution import ResolutionSteps
from teambot.core.db import Database
from teambot.core.policy.models import Policy
from teambot.core.policy.service import PolicyService
from teambot.core.policy.settings import PolicyChange
from teambot.core.ports import Clock, Notifier


class RecoveryService(
    OpeningSteps, OwnershipSteps, CompensationSteps, ApprovalSteps, ProgressSteps, ResolutionSteps, RecordSteps,
    CardRefSteps,
):  # fmt: skip
    """The core's single entry point for case work: plain async methods, no platform anywhere."""

    def __init__(self, db: Database, clock: Clock, notifier: Notifier, events: CaseEvents | None = None) -> None:
        super().__init__(db, clock, notifier, events)
        self.policies = PolicyService(db, clock)

    async def policy(self, team_id: str, actor: str, platform: str = "shell") -> Policy:
        return await self.policies.policy(team_id, actor, platform)

    async def change_policy(self, team_id: str, actor: str, change: PolicyChange, platform: str = "shell") -> str:
        return await self.policies.change_policy(team_id, actor, change, platform)
