"""Benchmark 7: root causes by meaning. The model's load time and resident memory (VmRSS before
and after, in this fresh process), the grouping of a team's 12 weeks of unfiled causes at 5,000
distinct phrasings (first call, when each word is embedded, and again with the words known), the
filing of one new root cause, and the labelled set's pairwise precision and recall.

    .venv/bin/python -m bench.causes                 # 5,000 causes, 3 runs each
    .venv/bin/python -m bench.causes --smoke         # 300 causes, 1 run
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PREFIXES = ["", "again: ", "night shift: ", "rm 412 ", "table 9 ", "order 5531 ", "per guest: ", "FOH says "]
SUFFIXES = ["", " today", " on sunday", " at breakfast", " for the 2nd time", " (agency staff)", " - see log"]


def rss_mib(field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its highest so far (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def phrasings(n: int, labelled: dict[str, list[str]]) -> list[str]:
    """`n` distinct root causes written the way staff write them, from the labelled set."""
    base = [t for texts in labelled.values() for t in texts]
    rng = random.Random(24)
    out: list[str] = []
    seen: set[str] = set()
    for k in itertools.count():
        text = f"{rng.choice(PREFIXES)}{rng.choice(base)}{rng.choice(SUFFIXES)}"
        if k % 3 == 0:
            text += f" #{rng.randint(1, 999)}"
        if text not in seen:
            seen.add(text)
            out.append(text)
        if len(out) == n:
            return out
    return out


def pairwise(groups: list[list[int]], labels: list[str]) -> tuple[float, float]:
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(labels)), 2):
        same, together = labels[i] == labels[j], i in group_of and group_of.get(i) == group_of.get(j)
        tp, fp, fn = tp + (same and together), fp + (together and not same), fn + (same and not together)
    return (tp / (tp + fp) if tp + fp else 1.0), tp / (tp + fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--causes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    n, runs = (300, 1) if args.smoke else (args.causes, args.runs)

    before = rss_mib()
    started = time.perf_counter()
    from teambot.core.improvement import meaning

    meaning.model()
    load_s = time.perf_counter() - started
    loaded = rss_mib()

    from tests.improvement.labelled_causes import LABELLED

    texts = phrasings(n, LABELLED)
    started = time.perf_counter()
    first = meaning.group(texts)
    first_s = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        meaning.group(texts)
        warm.append(time.perf_counter() - started)
    peak = rss_mib("VmHWM")
    exemplars = [[name, *texts_[:20]] for name, texts_ in LABELLED.items()]
    started = time.perf_counter()
    meaning.nearest("the heat lamp at the pass died again", exemplars, 0.35)
    file_ms = (time.perf_counter() - started) * 1000
    labelled = [t for v in LABELLED.values() for t in v]
    labels = [k for k, v in LABELLED.items() for _ in v]
    precision, recall = pairwise(meaning.group(labelled), labels)

    result: dict[str, Any] = {
        "benchmark": "causes", "causes": n, "groups": len(first),
        "load_s": round(load_s, 3), "rss_before_mib": round(before, 1), "rss_loaded_mib": round(loaded, 1),
        "rss_peak_mib": round(peak, 1), "group_first_s": round(first_s, 3),
        "group_warm_median_s": round(statistics.median(warm), 3), "group_warm_runs_s": [round(w, 3) for w in warm],
        "file_one_ms": round(file_ms, 1), "labelled_phrasings": len(labelled), "labelled_causes": len(LABELLED),
        "precision": round(precision, 3), "recall": round(recall, 3),
    }  # fmt: skip
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / ("causes-smoke.json" if args.smoke else "causes.json")).write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
