"""The catalogues are complete and honest: every marked string is in every language, none is
empty or fuzzy, no translation drops or adds a placeholder, and the modules already converted
say nothing to a person that is not marked for translation.

"Marked" is decided by Babel's own extraction (the `babel.cfg` that `make messages` uses), so
these tests fail the moment someone adds a `_()` without running `make messages` and translating.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from teambot.core import i18n

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "teambot"
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "lazy_gettext": None, "N_": None,
}  # fmt: skip
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE]

# Every module says what it says to a person through gettext, except these two lists.
# OPERATOR_FACING: read by whoever runs Teambot or calls its API (the CLI, the doctor, probes, logs,
# problem+json for developers, the OpenAPI document): English only, like the log lines beside them.
OPERATOR_FACING = [
    "teambot/api/",
    "teambot/bootstrap.py",
    "teambot/cli.py",
    "teambot/config.py",
    "teambot/core/cases/listing.py",  # the HTTP API's case listing: its refusals are problem+json for developers
    "teambot/core/cases/public.py",  # the API's and webhooks' case models: their descriptions are the OpenAPI document
    "teambot/core/db.py",
    "teambot/core/migrate.py",
    "teambot/core/observability.py",
    "teambot/core/secretbox.py",
    "teambot/core/webhooks/signing.py",
    "teambot/logs.py",
    "teambot/ops/",
    "teambot/server.py",
    "teambot/teams/package.py",
    "teambot/web/ops.py",
]
# NOT_YET_CONVERTED only shrinks: a module converted leaves it (the test below says when one fits).
NOT_YET_CONVERTED: list[str] = []


def _operator_facing(path: str) -> bool:
    return any(path == o or (o.endswith("/") and path.startswith(o)) for o in OPERATOR_FACING)


CONVERTED_MODULES = [
    p.relative_to(ROOT).as_posix()
    for p in sorted(PACKAGE.rglob("*.py"))
    if not _operator_facing(p.relative_to(ROOT).as_posix())
    and p.relative_to(ROOT).as_posix() not in NOT_YET_CONVERTED
]
CONVERTED_TEMPLATES = sorted(
    str(p.relative_to(ROOT))
    for p in [*PACKAGE.glob("web/templates/*.html"), *PACKAGE.glob("core/customer_loop/templates/*")]
)
# Names whose strings are for machines, not people (headers, patterns).
# (LINK: the marker the timeline keeps in place of a customer's feedback link; USAGE: the grammar's command
# syntax, which stays English like the help's commands; _REAL_WORDS_TEXT: English words the typo check knows.)
# (USAGE: a command's grammar, English in every language; WEEK_WORDS, MONTH_WORDS, TOMORROW_WORDS: words a command
# accepts; LEGEND_CORNER: matplotlib's name for a legend's place; NO_JIT and sql: SQL.)
NOT_PROSE_NAMES = {
    "LANGUAGES",
    "LEGEND_CORNER",
    "LINK",
    "MONTH_WORDS",
    "MY_USAGE",
    "NO_JIT",
    "TEAM_USAGE",
    "TOMORROW_WORDS",
    "USAGE",
    "WEEK_WORDS",
    "_CLOSING",
    "_GREETING",
    "_HEADERS",
    "_REAL_WORDS_TEXT",
    "sql",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%[sdifr]|\{\w*\}")


def _extracted() -> dict[str | tuple[str, ...], set[str]]:
    """Every marked message in teambot/ (Python and templates), as `make messages` extracts it."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str | tuple[str, ...], set[str]] = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(PACKAGE), method_map, options_map, keywords=KEYWORDS
    ):
        key = tuple(message) if isinstance(message, (tuple, list)) else message
        found.setdefault(key if context is None else (context, key), set()).add(filename)
    return found


def _catalogue(lang: str):
    with i18n.po_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def _ids(catalog) -> set:
    out = set()
    for m in catalog:
        if not m.id:
            continue
        key = tuple(m.id) if isinstance(m.id, (tuple, list)) else m.id
        out.add(key if m.context is None else (m.context, key))
    return out


def test_six_languages_ship() -> None:
    assert set(i18n.LANGUAGES) >= {"en", "de", "fr", "es", "nl", "pt"}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_marked_string_is_in_the_catalogue(lang: str) -> None:
    marked = _extracted()
    assert marked, "extraction found nothing: babel.cfg no longer matches the code"
    catalog_ids = _ids(_catalogue(lang))
    missing = sorted(map(str, set(marked) - catalog_ids))
    assert not missing, f"{lang}: not in the catalogue (run `make messages` and translate): {missing[:10]}"
    stale = sorted(map(str, catalog_ids - set(marked)))
    assert not stale, (
        f"{lang}: in the catalogue but no longer in the code (run `make messages`): {stale[:10]}"
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_message_is_untranslated_or_fuzzy(lang: str) -> None:
    catalog = _catalogue(lang)
    assert catalog.plural_forms and "nplurals" in catalog.plural_forms
    bad = []
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
        if m.fuzzy or not all(s and s.strip() for s in strings):
            bad.append(m.id)
        if isinstance(m.id, (tuple, list)):
            assert len(strings) == catalog.num_plurals, f"{lang}: {m.id!r} needs {catalog.num_plurals} forms"
    assert not bad, f"{lang}: untranslated or fuzzy: {bad[:10]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_every_placeholder(lang: str) -> None:
    wrong = []
    for m in _catalogue(lang):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, (tuple, list)) else (m.id,)
        strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for s in strings:
            if sorted(set(PLACEHOLDER.findall(s))) != wanted:
                wrong.append((ids[0], s))
    assert not wrong, f"{lang}: a placeholder was dropped or added: {wrong[:5]}"


CODE = re.compile(r"`[^`]*`")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_commands_stay_english(lang: str) -> None:
    """What is between backticks is a command: one grammar, typed and read the same in every language."""
    changed = []
    for m in _catalogue(lang):
        ids = m.id if isinstance(m.id, (tuple, list)) else (m.id,)
        strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
        if m.id and any(sorted(CODE.findall(s)) != sorted(CODE.findall(ids[-1])) for s in strings):
            changed.append(ids[0])
    assert not changed, f"{lang}: a command between backticks was translated or dropped: {changed[:5]}"


def test_the_placeholder_check_catches_a_dropped_one() -> None:
    """The check above is only as good as its pattern: a dropped %(name)s must show."""
    assert PLACEHOLDER.findall("Dear %(name)s,") != PLACEHOLDER.findall("Hallo,")
    assert set(PLACEHOLDER.findall("%(step)s by %(when)s")) != set(
        PLACEHOLDER.findall("%(step)s bis %(wann)s")
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalogue_speaks_the_language(lang: str) -> None:
    """From the .po (a fresh clone has no .mo): a source string comes back translated."""
    i18n.translations.cache_clear()
    with i18n.use_locale(lang):
        assert i18n.gettext("Send my answer") != "Send my answer"
    assert i18n.gettext("Send my answer") == "Send my answer"  # English outside the block


# ----- nothing unmarked in what is converted ------------------------------------------------

_WORDS = re.compile(r"[A-Za-z]{2,}")


def _looks_like_prose(text: str) -> bool:
    """Two or more words with a space between: a sentence or a label, not an id or a path."""
    bare = PLACEHOLDER.sub("", text)
    return " " in bare.strip() and len(_WORDS.findall(bare)) >= 2


def unmarked_strings(source: str) -> list[tuple[int, str]]:
    """String literals that read like prose and reach no gettext call (docstrings, logging, a developer's
    print, a programming error's exception, regular expressions, what is recorded (`result=`, `data=`)
    and names in NOT_PROSE_NAMES excepted)."""
    tree = ast.parse(source)
    skip: set[int] = set()
    sql_text = re.search(r"^from sqlalchemy(?:\.\w+)* import [^\n]*\btext\b", source, re.M) is not None
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # a docstring (of a module, class, function or attribute)
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            owner = (
                func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            )
            developer = name in ("print", "ValueError", "TypeError", "RuntimeError", "AssertionError")
            sql = name == "text" and sql_text  # SQLAlchemy's text(): a statement, not a sentence
            if name in KEYWORDS or developer or sql or owner in ("log", "logging", "logger", "re"):
                skip.update(id(n) for arg in node.args for n in ast.walk(arg))
        if isinstance(node, ast.keyword) and node.arg in ("result", "data", "error", "last_error"):  # recorded, not said
            skip.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and (t.id in NOT_PROSE_NAMES or t.id.endswith("_sql")) for t in targets):
                skip.update(id(n) for n in ast.walk(node.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and _looks_like_prose(node.value)
    ]


def test_the_scanner_finds_an_unmarked_sentence() -> None:
    source = 'def f(n):\n    """Docs are fine."""\n    ok = _("Claimed case %(n)s.")\n    return f"Case #{n} is yours now."\n'
    assert unmarked_strings(source) == [(4, " is yours now.")]
    assert unmarked_strings('x = _("All good here.")\nlog.info("not for people at all")\n') == []


@pytest.mark.parametrize("path", CONVERTED_MODULES)
def test_converted_modules_mark_every_sentence(path: str) -> None:
    found = unmarked_strings((ROOT / path).read_text())
    assert not found, f"{path}: user-facing text not marked for translation: {found[:5]}"


def test_the_not_yet_converted_list_only_shrinks() -> None:
    """A module that no longer has unmarked text leaves NOT_YET_CONVERTED, so the list tells the truth."""
    done = [
        p
        for p in NOT_YET_CONVERTED
        if not (ROOT / p).exists() or not unmarked_strings((ROOT / p).read_text())
    ]
    assert not done, f"converted (or gone): remove from NOT_YET_CONVERTED: {done}"


_TAG = re.compile(r"<[^>]*>")
_VISIBLE_ATTRS = re.compile(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"')


def unmarked_template_text(source: str) -> list[str]:
    """Literal text a template shows (between tags, or in a visible attribute) outside `{{ }}`.

    Every Jinja expression and statement is cut out first (what they print is data, or a `_()`
    call the catalogue test covers), so a tag is whole again before tags are stripped.
    """
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", "\u00a7", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"<style>.*?</style>|<!DOCTYPE[^>]*>", " ", text, flags=re.S | re.I)
    found = [a for a in _VISIBLE_ATTRS.findall(text) if _WORDS.search(a)]
    visible = re.sub(r"[\w-]+=\"[^\"]*\"", " ", _TAG.sub(" ", text))  # an attribute a macro prints
    visible = visible.replace("\u00a7", " ").replace("&nbsp;", " ")
    found += [line.strip() for line in visible.splitlines() if _WORDS.search(line)]
    return found


def test_the_template_scanner_finds_literal_text() -> None:
    assert unmarked_template_text("<p>{{ _('Hello') }}</p>") == []
    assert unmarked_template_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_template_text('<a aria-label="Close">{{ _("x") }}</a>') == ["Close"]


@pytest.mark.parametrize("path", CONVERTED_TEMPLATES)
def test_converted_templates_mark_every_sentence(path: str) -> None:
    found = unmarked_template_text((ROOT / path).read_text())
    assert not found, f"{path}: text not marked for translation: {found[:5]}"


@pytest.mark.parametrize(("lang", "three_days"), [("es", "3 días"), ("fr", "3 jours"), ("pt", "3 dias")])
def test_three_is_the_ordinary_plural_not_the_millions_form(lang: str, three_days: str) -> None:
    """CLDR gives es, fr and pt a third form for round millions ("1 000 000 de días"): index 1 of three.
    A translation that puts the ordinary plural there would say "3 de días"."""
    i18n.translations.cache_clear()
    with i18n.use_locale(lang):
        assert i18n.ngettext("%(count)s day", "%(count)s days", 3) % {"count": 3} == three_days
        assert "de " not in i18n.ngettext("%(count)s case", "%(count)s cases", 3).replace("%(count)s", "3")[:5]
