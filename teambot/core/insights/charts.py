"""The digest's chart as a PNG: cases opened per day by category, and time to resolve.

Pure: a Digest in, PNG bytes out. matplotlib's Agg backend needs no display.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from PIL import Image

from teambot.core.insights.digest import Digest


def digest_chart(digest: Digest) -> bytes:
    start = date.fromisoformat(digest.start[:10])
    days = [start + timedelta(days=i) for i in range(7)]
    labels = [d.strftime("%a %d") for d in days]
    categories = sorted({c for counts in digest.opened_per_day.values() for c in counts})

    fig = Figure(figsize=(9, 3.6), dpi=100)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    bottoms = [0] * 7
    for category in categories:
        values = [digest.opened_per_day.get(d.isoformat(), {}).get(category, 0) for d in days]
        left.bar(labels, values, bottom=bottoms, label=category)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    left.set_title(f"Cases opened per day, {digest.week}")
    left.tick_params(axis="x", labelrotation=45, labelsize=8)
    left.yaxis.get_major_locator().set_params(integer=True)
    if categories:
        left.legend(fontsize=7, loc="upper left")
    else:
        left.text(0.5, 0.5, "no cases this week", ha="center", va="center", transform=left.transAxes)

    if digest.resolve_hours:
        right.hist(digest.resolve_hours, bins=min(10, max(3, len(digest.resolve_hours))), color="#4a7")
        right.axvline(24, color="#c33", linestyle="--", linewidth=1, label="24 h target")
        right.legend(fontsize=7)
    else:
        right.text(0.5, 0.5, "nothing resolved", ha="center", va="center", transform=right.transAxes)
    right.set_title("Time to resolve (hours)")
    right.set_xlabel("hours")
    fig.tight_layout()
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png")
    # A 32-colour palette keeps a chart this simple crisp at about a quarter of the bytes, small
    # enough to ride inside a Teams card (about 28 KB in all) as a data URI.
    out = io.BytesIO()
    Image.open(io.BytesIO(rendered.getvalue())).convert("RGB").quantize(colors=32).save(out, "PNG", optimize=True)
    return out.getvalue()
