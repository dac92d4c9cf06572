"""`/recover export-customer` and `forget-customer` (admins)."""

from __future__ import annotations

import json

from teambot.core.cases.service import RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.i18n import gettext as _
from teambot.core.i18n import ngettext
from teambot.core.privacy.customer_data import export_customer, forget_customer


class PrivacyHandlers:
    def __init__(self, service: RecoveryService) -> None:
        self.s = service

    async def export(self, intent: i.ExportCustomer, ctx: Context) -> Reply:
        data = await export_customer(self.s, ctx.team_id, ctx.user_id, intent.customer)
        return TextReply(
            text=json.dumps(data, indent=2, ensure_ascii=False),
            title=_("Data held on %(customer)s") % {"customer": intent.customer},
        )

    async def forget(self, intent: i.ForgetCustomer, ctx: Context) -> Reply:
        count = await forget_customer(self.s, ctx.team_id, ctx.user_id, intent.customer)
        return TextReply(
            text=ngettext(
                "Erased %(customer)s's name and words from %(count)s case; the figures stay.",
                "Erased %(customer)s's name and words from %(count)s cases; the figures stay.",
                count,
            )
            % {"customer": intent.customer, "count": count}
        )

    def handlers(self) -> HandlerTable:
        return {i.ExportCustomer: self.export, i.ForgetCustomer: self.forget}
