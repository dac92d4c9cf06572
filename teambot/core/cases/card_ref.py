"""The adapters' bookkeeping on a case (`cases.card_ref`: where its card is, what its thread showed)
changed in one statement, without the case's version.

Several writers share the column (the card row's holder records the card's place, a notifier
remembers approval DMs, Teams its conversation), so a write merges its keys into what is stored
instead of replacing it: a JSON merge in SQL, atomic under the row lock PostgreSQL's UPDATE takes
and SQLite's single writer. Steps never write the column, so bookkeeping never makes them retry."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, String, Update, bindparam, case, cast, func, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from teambot.core.cases.models import Case


def merged_card_ref(dialect: str, patch: dict[str, Any]) -> ColumnElement[Any]:
    """`card_ref` with `patch`'s keys set (a None value removes the key on SQLite, is null on PostgreSQL)."""
    column = Case.__table__.c.card_ref  # type: ignore[attr-defined]
    value = bindparam(None, json.dumps(patch), type_=String)
    empty = bindparam(None, "{}", type_=String)  # typed as text: a JSON-typed bind would quote it
    if dialect == "postgresql":
        # A case without bookkeeping holds SQL NULL or JSON null: both merge as an empty object.
        stored = cast(column, JSONB)
        base = case((func.jsonb_typeof(stored) == "object", stored), else_=cast(empty, JSONB))
        return cast(base.op("||")(cast(value, JSONB)), JSON)
    return func.json_patch(func.coalesce(column, empty), value)


def merge_card_ref(dialect: str, which: ColumnElement[bool], patch: dict[str, Any]) -> Update:
    """The UPDATE merging `patch` into the bookkeeping of the case(s) `which` selects."""
    return (
        update(Case).where(which).values(card_ref=merged_card_ref(dialect, patch))
        .execution_options(synchronize_session=False)
    )  # fmt: skip
