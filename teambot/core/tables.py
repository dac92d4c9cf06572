"""The one MetaData every table registers on (SQLModel's), for Alembic and the tests."""

from sqlmodel import SQLModel

import teambot.core.models  # registers the core tables
import teambot.core.models_scheduling  # noqa: F401  (due items, team schedules, shout-outs)

metadata = SQLModel.metadata
