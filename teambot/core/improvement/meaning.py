"""How close two root causes are in meaning, offline: a small static embedding model shipped
inside a PyPI wheel (WordLlama, 256 dimensions, loaded from the package's own folder with
downloads disabled) combined with a lexical measure (character trigrams) that forgives the
misspellings an embedding of word pieces does not.

A text's vector is its words' vectors weighted by how rare each word is among the texts compared
(a word every cause uses, "room", counts for little). The model loads once per process, on first
use (about half a second); word vectors are kept. Texts in, similarities out.
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np

# Measured on tests/improvement/labelled_causes.py (see docs/benchmarks.md): the combined
# similarity at which two phrasings are taken to name the same cause. Set high: a wrong merge
# costs more than a missed one, so below it Teambot asks rather than guesses.
SAME_CAUSE = 0.3
# A member may sit this far below SAME_CAUSE with one other member if it is close to the group
# on average (average linkage with a floor): one loose pair never chains two causes together.
SLACK = 0.1
TRIGRAM_DIMS = 512
_SPELLING_WEIGHT = 0.6  # trigram overlap counts for less than meaning: "room" is in many causes
_STOP = frozenset(
    ("the", "a", "an", "on", "in", "at", "of", "to", "for", "by", "was", "were", "is", "be", "not", "no",
     "and", "or", "so", "from", "after", "our", "we", "they", "it", "its")
)  # fmt: skip

_lock = threading.Lock()
_model: Any = None


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


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors, one row per text: its words' vectors weighted by how rare each word is among
    `texts` (inverse document frequency), so a word every cause of the team uses ("room", "guest")
    does not make "AC broken in the room" read like "housekeeping missed the room"."""
    tokens = [_content_words(t) for t in texts]
    missing = sorted({w for ws in tokens for w in ws} - _words.keys())
    if missing:
        if len(_words) + len(missing) > _CACHE_MAX:
            _words.clear()
            missing = sorted({w for ws in tokens for w in ws})
        _words.update(zip(missing, np.asarray(model().embed(missing, norm=True), dtype=np.float32), strict=True))
    df: dict[str, int] = {}
    for ws in tokens:
        for w in set(ws):
            df[w] = df.get(w, 0) + 1
    n = len(texts)
    idf = {w: math.log((n + 1) / (k + 1)) + 1 for w, k in df.items()}
    out = np.zeros((n, 256), dtype=np.float32)
    for row, ws in enumerate(tokens):
        for w in ws:
            out[row] += idf[w] * _words[w]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def trigrams(texts: list[str]) -> np.ndarray:
    """Hashed character-trigram counts (words padded with spaces), L2-normalised per row."""
    out = np.zeros((len(texts), TRIGRAM_DIMS), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _content_words(text):
            padded = f" {word} "
            for i in range(len(padded) - 2):
                out[row, zlib.crc32(padded[i : i + 3].encode()) % TRIGRAM_DIMS] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def vectors(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return embed(texts), trigrams(texts)


def similarity(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Pairwise similarity of two sets of texts (rows of a × rows of b): the closer of meaning and
    (weighted down) spelling, so "houskeeping" still meets "housekeeping"."""
    meaning = a[0] @ b[0].T
    spelling = a[1] @ b[1].T
    spelling *= _SPELLING_WEIGHT  # in place: at 5,000 causes each temporary is 100 MB
    return np.maximum(meaning, spelling, out=meaning)


def group(texts: list[str], threshold: float = SAME_CAUSE, slack: float = SLACK) -> list[list[int]]:
    """Groups of look-alike texts (indexes into `texts`), each of two or more, biggest first.

    Greedy average linkage with a floor: a group starts from the text with the most close
    neighbours and takes, one at a time, the text closest to it on average, while that average
    reaches `threshold` and no member is further than `threshold - slack`. Identical texts
    (after `normalise`) are always together."""
    if len(texts) < 2:
        return []
    keys = [normalise(t) for t in texts]
    distinct = list(dict.fromkeys(keys))
    index = {k: i for i, k in enumerate(distinct)}
    vec = vectors(distinct)
    sim = similarity(vec, vec)
    close = sim >= threshold
    np.fill_diagonal(close, True)
    taken = np.zeros(len(distinct), dtype=bool)
    groups: list[list[int]] = []
    for seed in np.argsort(-close.sum(axis=1), kind="stable"):
        if taken[seed]:
            continue
        taken[seed] = True
        members = [int(seed)]
        total = sim[:, seed].copy()  # each text's summed similarity to the members
        low = sim[:, seed].copy()  # and its lowest
        while True:
            mean = total / len(members)
            ok = ~taken & (mean >= threshold) & (low >= threshold - slack)
            if not ok.any():
                break
            pick = int(np.flatnonzero(ok)[np.argmax(mean[ok])])
            taken[pick] = True
            members.append(pick)
            total += sim[:, pick]
            low = np.minimum(low, sim[:, pick])
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
    vec = vectors([text, *(t for _, t in flat)])  # one corpus, so word rarity is counted over both
    sims = similarity((vec[0][:1], vec[1][:1]), (vec[0][1:], vec[1][1:]))[0]
    best: dict[int, float] = {}
    for (i, _), s in zip(flat, sims, strict=True):
        best[i] = max(best.get(i, -1.0), float(s))
    winner = max(best, key=lambda i: best[i])
    return (winner, best[winner]) if best[winner] >= threshold else None


def medoid(texts: list[str]) -> str:
    """The phrasing closest to all the others: the suggested name of a group."""
    if len(texts) <= 2:
        return min(texts, key=len)
    vec = vectors(texts)
    sims = similarity(vec, vec).sum(axis=1)
    return texts[int(np.argmax(sims))]
