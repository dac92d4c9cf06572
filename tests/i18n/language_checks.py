"""What "rendered in a language" means, for the adapters' language tests (Slack and the shell).

A rendering is in `lang` when
- every sentence and label of the adapter's own (its msgids) that the English rendering shows is
  shown translated,
- no translated sentence of the catalogue (the adapter's or the core's) is left in English, and
- it holds a word of that language.

While a core module a surface quotes is still in NOT_YET_CONVERTED, the core's own English words on
that surface are set aside (they are the core's to translate, not the adapter's); once it leaves the
list, the whole rendering is checked, so these tests tighten by themselves as the core is converted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from babel.messages.pofile import read_po

from teambot.core import i18n
from teambot.core.policy.rules import DEFAULT_CATALOGUE, DEFAULT_CATEGORIES
from tests.i18n.test_catalogues import NOT_YET_CONVERTED, _extracted

Key = str | tuple[str, ...]
_WORD = re.compile(r"[^\W\d_]{2,}")


def pending(modules: Iterable[str]) -> list[str]:
    """The core modules among `modules` not converted yet."""
    return [m for m in modules if m in NOT_YET_CONVERTED]


@cache
def catalogue(lang: str) -> dict[Key, tuple[tuple[str, ...], tuple[str, ...]]]:
    """{key as `_extracted` names it: ((its English forms), (its translations))} of `lang`."""
    with i18n.po_path(lang).open("rb") as f:
        cat = read_po(f, locale=lang)
    out: dict[Key, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for m in cat:
        if not m.id:
            continue
        sources = tuple(m.id) if isinstance(m.id, (list, tuple)) else (m.id,)
        strings = tuple(m.string) if isinstance(m.string, (list, tuple)) else (m.string,)
        key: Key = tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id
        out[(m.context, key) if m.context else key] = (sources, sources if lang == i18n.SOURCE else strings)  # type: ignore[index]
    return out


def adapter_keys(folder: str) -> set[Key]:
    """The msgids the adapter in teambot/<folder>/ marks itself."""
    out: set[Key] = set()
    for key, files in _extracted().items():
        if any(f.replace("\\", "/").startswith(f"{folder}/") for f in files):
            out.add(key)
    return out


def fragments(message: str) -> list[str]:
    """The literal parts of a message between its placeholders (and lines), with letters in them."""
    parts = [p.strip(" \n*_:·()…") for p in re.split(r"%\(\w+\)[sdif]|%[sdif]|\n", message)]
    return [p for p in parts if _WORD.search(p)]


def texts(rendered: Any) -> list[str]:
    """Every string a person can read in a rendering (Block Kit JSON, or terminal text)."""
    if isinstance(rendered, str):
        return [rendered]
    if isinstance(rendered, dict):
        return [t for k, v in rendered.items() if k not in ("action_id", "block_id", "value", "callback_id",
                                                             "private_metadata", "type", "style") for t in texts(v)]  # fmt: skip
    if isinstance(rendered, list):
        return [t for v in rendered for t in texts(v)]
    return []


def _pattern(message: str) -> re.Pattern[str]:
    """The message as it reads once filled: its words in order, anything (on one line) for a placeholder."""
    parts = re.split(r"%\(\w+\)[sdif]|%[sdif]", message.strip())
    return re.compile(r"[^\n]*?".join(re.escape(part) for part in parts))


def _shows(blob: str, elements: list[str], message: str) -> bool:
    parts = fragments(message)
    if not parts:
        return False
    if len(parts) == 1 and len(_WORD.findall(parts[0])) == 1:  # one word: a whole label, not part of one
        return any(e.strip(" *_:") == parts[0] for e in elements) or re.search(
            rf"(?<![\w-]){re.escape(parts[0])}(?![\w-])", blob) is not None  # fmt: skip
    return _pattern(message).search(blob) is not None


def check_language(lang: str, english_render: Any, render: Any, *, adapter: str, core_texts: Iterable[str],
                   core_modules: Iterable[str], minimum: int = 1) -> int:  # fmt: skip
    """Assert `render` is `english_render` in `lang` (see the module's docstring); returns how many
    of the adapter's own messages were checked."""
    waiting = pending(core_modules)
    core = [t for t in core_texts if t] if waiting else []
    en_elements, elements = texts(english_render), texts(render)
    en_blob, blob = "\n".join(en_elements), "\n".join(elements)

    def the_cores(message: str) -> bool:
        return any(part in text for part in fragments(message) for text in core)

    table = catalogue("de" if lang == "en" else lang)
    shown = {}
    for key in adapter_keys(adapter):
        sources, translations = table[key]
        if any(_shows(en_blob, en_elements, s) for s in sources) and not any(the_cores(s) for s in sources):
            shown[key] = (sources, sources if lang == "en" else translations)

    # Every catalogue message the English rendering shows, the core's included: a one-word label of the
    # adapter's ("Flag") may only be a word of a longer one shown there ("Flag for improvement").
    shown_anywhere = [sources for sources, _ in table.values() if any(_shows(en_blob, en_elements, s) for s in sources)]

    def inside_another(sources: tuple[str, ...]) -> bool:
        """Its words are part of a longer message shown too ("average score" in the stats line)."""
        return any(len(other[0]) > len(sources[0]) and all(any(part in bigger for bigger in fragments(other[0]))
                                                           for part in fragments(sources[0]))
                   for other in shown_anywhere)  # fmt: skip

    checked = 0
    for sources, translations in shown.values():
        if inside_another(sources):
            continue
        checked += 1
        assert any(_shows(blob, elements, t) for t in translations), (
            f"{lang}: {sources[0]!r} is shown in English, {translations!r} nowhere in\n{blob[:3000]}"
        )
    assert checked >= minimum, f"only {checked} of the {adapter} adapter's own messages were found to check"
    if lang == "en":
        return checked
    # A team's categories and gestures are its own words once stored (seeded in the language of whoever
    # started the team), shown as typed: data, not Teambot's sentences.
    team_words = set(DEFAULT_CATEGORIES) | {gesture["name"] for gesture in DEFAULT_CATALOGUE}
    left = []
    for sources, translations in catalogue(lang).values():
        if any(source in team_words for source in sources):
            continue
        for source in sources:
            for part in fragments(source):
                if len(_WORD.findall(part)) < 2 or any(part in t for t in translations) or the_cores(source):
                    continue
                if part in blob:
                    left.append(part)
    assert not left, f"{lang}: English left in the rendering: {sorted(set(left))[:8]}\n{blob[:3000]}"
    return checked


def has_a_word_of(lang: str, render: Any, keys: Iterable[Key] | None = None) -> bool:
    """A translation (distinct from the English, of four letters or more) is in the rendering."""
    blob = "\n".join(texts(render))
    for key, (sources, translations) in catalogue(lang).items():
        if keys is not None and key not in keys:
            continue
        for translation in translations:
            for part in fragments(translation):
                if len(part) >= 4 and part in blob and not any(part in source for source in sources):
                    return True
    return False
