"""How close two root causes are in meaning, offline: a small static embedding model shipped
inside a PyPI wheel (WordLlama, 256 dimensions, loaded from the package's own folder with
downloads disabled), with a lexical repair for misspellings an embedding of word pieces does
not forgive ("houskeeping" is read as the "housekeeping" the other texts use).

A text's vector is its words' vectors weighted by how rare each word is among the texts compared
(a word every cause uses, "room", counts for little). The model loads once per process, on first
use (about half a second); word vectors are kept. Texts in, similarities out.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

# Measured on tests/improvement/labelled_causes.py (see docs/benchmarks.md): the cosine
# similarity at which two phrasings are taken to name the same cause. Set high: a wrong merge
# costs more than a missed one, so below it Teambot asks rather than guesses.
SAME_CAUSE = 0.3
# A member may sit this far below SAME_CAUSE with one other member if it is close to the group
# on average (average linkage with a floor): one loose pair never chains two causes together.
SLACK = 0.1
_STOP = frozenset(
    ("the", "a", "an", "on", "in", "at", "of", "to", "for", "by", "was", "were", "is", "be", "not", "no",
     "and", "or", "so", "from", "after", "our", "we", "they", "it", "its")
)  # fmt: skip

_lock = threading.Lock()
_model: Any = None


def loaded() -> bool:
    return _model is not None


def model() -> Any:
    """The WordLlama model from the wheel's own files; never reaches the network."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import wordllama
                from wordllama import WordLlama

                folder = Path(wordllama.__file__).parent
                _model = WordLlama.load(cache_dir=folder, disable_download=True, dim=256)
    return _model


def normalise(text: str) -> str:
    """Lower case, words only: `HK missed rm 412!` → `hk missed rm 412`."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


_words: dict[str, np.ndarray] = {}  # word -> its unit vector, kept for the process
_CACHE_MAX = 50000


def _content_words(text: str) -> list[str]:
    words = normalise(text).split()
    return [w for w in words if w not in _STOP] or words


def spelling(words: list[str]) -> dict[str, str]:
    """Misspelt words mapped to the spelling the texts use most ("houskeeping" → "housekeeping").

    Two words are taken for one when deleting one letter from each (or from one) makes them equal
    (a slip, a missing or doubled letter, two letters swapped), both have five letters or more and
    difflib finds them at least 0.85 alike. Found through deletion keys (SymSpell's idea), so the
    cost follows the number of distinct words, not its square."""
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    keyed: dict[str, list[str]] = {}
    for w in counts:
        if len(w) >= 5 and not w.isdigit():
            for key in {w, *(w[:i] + w[i + 1 :] for i in range(len(w)))}:
                keyed.setdefault(key, []).append(w)
    fix: dict[str, str] = {}
    for group in keyed.values():
        if len(group) < 2:
            continue
        best = max(
            group, key=lambda w: (counts[w], -_pieces(w), len(w), w)
        )  # a slip drops letters more often
        for w in group:
            if w != best and difflib.SequenceMatcher(None, w, best).ratio() >= 0.85:
                current = fix.get(w)
                if current is None or counts[best] > counts[current]:
                    fix[w] = best
    return fix


def _pieces(word: str) -> int:
    """How many word pieces the model's tokenizer cuts a word into: a real word is usually fewer."""
    return len(model().tokenizer.encode(word, add_special_tokens=False).ids)


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors, one row per text: its words' vectors (misspellings repaired against the other
    texts) weighted by how rare each word is among `texts` (inverse document frequency), so a word
    every cause of the team uses ("room", "guest") does not make "AC broken in the room" read like
    "housekeeping missed the room"."""
    raw = [_content_words(t) for t in texts]
    fix = spelling([w for ws in raw for w in ws])
    tokens = [[fix.get(w, w) for w in ws] for ws in raw]
    missing = sorted({w for ws in tokens for w in ws} - _words.keys())
    if missing:
        if len(_words) + len(missing) > _CACHE_MAX:
            _words.clear()
            missing = sorted({w for ws in tokens for w in ws})
        _words.update(
            zip(missing, np.asarray(model().embed(missing, norm=True), dtype=np.float32), strict=True)
        )
    df: dict[str, int] = {}
    for ws in tokens:
        for w in set(ws):
            df[w] = df.get(w, 0) + 1
    n = len(texts)
    vocab = list(df)
    column = {w: j for j, w in enumerate(vocab)}
    idf = np.array([math.log((n + 1) / (df[w] + 1)) + 1 for w in vocab], dtype=np.float32)
    vectors = np.stack([_words[w] for w in vocab]) if vocab else np.zeros((0, 256), dtype=np.float32)
    cols = np.fromiter((column[w] for ws in tokens for w in ws), dtype=np.int64)
    sizes = np.fromiter((len(ws) for ws in tokens), dtype=np.int64, count=n)
    out = np.zeros((n, 256), dtype=np.float32)
    if len(cols):  # each text: the sum of its words' vectors, weighted (texts' words are consecutive)
        has = sizes > 0
        starts = (np.cumsum(sizes) - sizes)[has]
        out[has] = np.add.reduceat(vectors[cols] * idf[cols, None], starts, axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of two sets of text vectors (rows of a × rows of b)."""
    return a @ b.T


def group(texts: list[str], threshold: float = SAME_CAUSE, slack: float = SLACK) -> list[list[int]]:
    """Groups of look-alike texts (indexes into `texts`), each of two or more, biggest first.

    Greedy average linkage with a floor: a group starts from the text with the most close
    neighbours and takes, one at a time, the text closest to it on average, while that average
    reaches `threshold` and no member is further than `threshold - slack`. So only the seed's
    neighbours within `threshold - slack` are ever candidates, which keeps each group's work small.
    Identical texts (after `normalise`) are always together."""
    if len(texts) < 2:
        return []
    keys = [normalise(t) for t in texts]
    distinct = list(dict.fromkeys(keys))
    index = {k: i for i, k in enumerate(distinct)}
    sim = similarity(vec := embed(distinct), vec)
    del vec
    floor = threshold - slack
    degree = np.count_nonzero(sim >= threshold, axis=1)
    taken = np.zeros(len(distinct), dtype=bool)
    groups: list[list[int]] = []
    for seed in np.argsort(-degree, kind="stable"):
        if taken[seed]:
            continue
        taken[seed] = True
        members = [int(seed)]
        cand = np.flatnonzero((sim[seed] >= floor) & ~taken)
        if len(cand):
            total, low = sim[cand, seed].copy(), sim[cand, seed].copy()
            free = np.ones(len(cand), dtype=bool)
            while True:
                mean = total / len(members)
                ok = free & (mean >= threshold) & (low >= floor)
                if not ok.any():
                    break
                pick = int(np.flatnonzero(ok)[np.argmax(mean[ok])])
                free[pick] = False
                members.append(int(cand[pick]))
                column = sim[cand, cand[pick]]  # a column of the matrix, gathered: no submatrix copy
                total += column
                np.minimum(low, column, out=low)
            taken[members] = True
        groups.append(members)
    by_distinct: dict[int, list[int]] = {}
    for i, k in enumerate(keys):
        by_distinct.setdefault(index[k], []).append(i)
    out = [sorted(i for m in g for i in by_distinct[m]) for g in groups]
    return sorted((g for g in out if len(g) >= 2), key=lambda g: (-len(g), g[0]))


def nearest(
    text: str, candidates: list[list[str]], threshold: float = SAME_CAUSE
) -> tuple[int, float] | None:
    """Which candidate (each a cause: its name and words already filed under it) `text` is closest
    to, by its closest phrasing, and how close; None when none reaches `threshold`."""
    flat = [(i, t) for i, texts in enumerate(candidates) for t in texts if normalise(t)]
    if not flat or not normalise(text):
        return None
    vec = embed([text, *(t for _, t in flat)])  # one corpus: rarity and spelling counted over both
    sims = similarity(vec[:1], vec[1:])[0]
    best: dict[int, float] = {}
    for (i, _), s in zip(flat, sims, strict=True):
        best[i] = max(best.get(i, -1.0), float(s))
    winner = max(best, key=lambda i: best[i])
    return (winner, best[winner]) if best[winner] >= threshold else None


def medoid(texts: list[str]) -> str:
    """The phrasing closest to all the others: the suggested name of a group."""
    fix = spelling([w for t in texts for w in _content_words(t)])

    def slips(text: str) -> int:
        return sum(w in fix for w in _content_words(text))

    if len(texts) <= 2:
        return min(texts, key=lambda t: (slips(t), len(t)))
    vec = embed(texts)
    sims = similarity(vec, vec).sum(axis=1)
    return texts[min(range(len(texts)), key=lambda i: (slips(texts[i]), -sims[i]))]
