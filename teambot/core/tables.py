"""The one MetaData every table registers on (SQLModel's), for Alembic and the tests."""

from sqlmodel import SQLModel

import teambot.core.api_tokens.models
import teambot.core.cases.models
import teambot.core.customer_loop.models
import teambot.core.heartbeat
import teambot.core.improvement.models
import teambot.core.intake.models
import teambot.core.jira.models
import teambot.core.policy.models
import teambot.core.recognition.models
import teambot.core.scheduling.models
import teambot.core.webhooks.models  # noqa: F401  (each feature's tables)

metadata = SQLModel.metadata
