"""The digest's chart: cases opened per day by category, time to resolve against the team's
target, this week beside the previous four, and (when causes cost something) the Pareto of
what to fix first.

`digest_figure` builds the matplotlib Figure from a Digest (pure, so tests read its data);
`encode_png` turns a Figure into PNG bytes; `digest_chart` does both. matplotlib's Agg
backend needs no display.
"""

from __future__ import annotations

import io
import math
import zlib
from datetime import date, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")

from babel.dates import format_interval, format_skeleton
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from teambot.core.i18n import babel_locale
from teambot.core.i18n import gettext as _
from teambot.core.insights.digest import Digest

_PALETTE = [colormaps["tab20"](i) for i in range(0, 20, 2)] + [colormaps["tab20"](i) for i in range(1, 20, 2)]
THIS_WEEK, EARLIER_WEEKS, TARGET = "#2b6cb0", "#a0aec0", "#c53030"
LEGEND_CORNER = "upper left"  # matplotlib's name for where a legend sits, not words a person reads


def category_colour(category: str, categories: list[str]) -> tuple[float, float, float, float]:
    """The same colour for a category every week: from its place in the team's list, else a
    stable hash of its name (a category since removed, or 'uncategorised')."""
    if category in categories:
        index = categories.index(category)
    else:
        index = len(categories) + zlib.crc32(category.encode()) % len(_PALETTE)
    return _PALETTE[index % len(_PALETTE)]


def week_dates(start: date) -> str:
    """`23–29 Nov 2026`, `30 Nov – 6 Dec 2026`, `29 Dec 2025 – 4 Jan 2026` (CLDR's interval, in the
    current language: `23.–29. Nov. 2026`, `23–29 nov. 2026`)."""
    return format_interval(start, start + timedelta(days=6), "yMMMd", locale=babel_locale())


def resolve_bins(hours: list[float], target: float) -> list[float]:
    """Histogram edges from 0 with the target on an edge: the width divides the target,
    about eight bins across the target or the slowest case, whichever is further."""
    top = max([*hours, float(target)])
    per_target = max(1, round(8 * target / top)) if top > 0 else 1
    width = target / per_target
    count = max(1, math.ceil(top / width))
    if count * width <= max(hours, default=0):  # the slowest case sits inside the last bin
        count += 1
    return [round(i * width, 6) for i in range(count + 1)]


def digest_figure(digest: Digest) -> Figure:
    start = date.fromisoformat(digest.start[:10])
    days = [start + timedelta(days=i) for i in range(7)]
    labels = [format_skeleton("Ed", day, locale=babel_locale()) for day in days]
    known = list(digest.categories)
    seen = {category for counts in digest.opened_per_day.values() for category in counts}
    categories = [category for category in known if category in seen] + sorted(seen - set(known))

    pareto = (digest.improvement or {}).get("pareto") or []
    fig = Figure(figsize=(10, 9 if pareto else 6), dpi=100, layout="constrained")
    grid = fig.add_gridspec(
        3 if pareto else 2, 2, height_ratios=[3, 2, 3] if pareto else [3, 2], width_ratios=[3, 2]
    )
    per_day = fig.add_subplot(grid[0, :])
    resolve = fig.add_subplot(grid[1, 0])
    weeks = fig.add_subplot(grid[1, 1])
    fig.suptitle(_("Recovery cases, %(dates)s (%(week)s)") % {"dates": week_dates(start), "week": digest.week},
                 fontsize=12)  # fmt: skip

    bottoms = [0] * 7
    for category in categories:
        values = [digest.opened_per_day.get(day.isoformat(), {}).get(category, 0) for day in days]
        per_day.bar(labels, values, bottom=bottoms, label=category, color=category_colour(category, known))
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    per_day.set_title(_("Opened per day, by category"), fontsize=10)
    per_day.set_ylabel(_("cases"))
    per_day.yaxis.set_major_locator(MaxNLocator(integer=True))
    if categories:
        per_day.legend(
            fontsize=8, loc=LEGEND_CORNER, bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False
        )

    target = digest.resolve_target_h
    if digest.resolve_hours:
        resolve.hist(digest.resolve_hours, bins=resolve_bins(digest.resolve_hours, target), color="#4a7")
        resolve.axvline(
            target,
            color=TARGET,
            linestyle="--",
            linewidth=1,
            label=_("%(hours)s h target") % {"hours": target},
        )
        resolve.legend(
            fontsize=8, loc=LEGEND_CORNER, bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False
        )
    else:
        resolve.text(0.5, 0.5, _("nothing resolved"), ha="center", va="center", transform=resolve.transAxes)
    resolve.set_title(_("Time to resolve"), fontsize=10)
    resolve.set_xlabel(_("hours"))
    resolve.set_ylabel(_("cases"))
    resolve.yaxis.set_major_locator(MaxNLocator(integer=True))

    history = [*digest.previous_weeks, {"week": digest.week, "opened": digest.this.opened}]
    names = [h["week"].split("-")[-1] for h in history]
    weeks.bar(names, [h["opened"] for h in history],
              color=[EARLIER_WEEKS] * (len(history) - 1) + [THIS_WEEK])  # fmt: skip
    weeks.set_title(_("Opened: this week and the four before"), fontsize=10)
    weeks.yaxis.set_major_locator(MaxNLocator(integer=True))
    weeks.tick_params(axis="x", labelsize=8)
    if pareto:  # after the others, so fig.axes keeps their order
        pareto_chart(fig.add_subplot(grid[2, :]), pareto)
    return fig


def pareto_chart(ax: Axes, pareto: list[dict[str, Any]], most: int = 8) -> None:
    """What to fix first: the causes' cost points as bars, costliest first, and the cumulative share
    of the week's cost as a line on a second axis (0–100%)."""
    shown = pareto[:most]
    names = [_short(row["cause"]) for row in shown]
    points = [float(row["points"]) for row in shown]
    total = sum(float(row["points"]) for row in pareto) or 1.0
    running, share = 0.0, []
    for value in points:
        running += value
        share.append(round(100 * running / total, 1))
    ax.bar(names, points, color=THIS_WEEK)
    ax.set_title(_("What to fix first: cost by cause (cases, unhappy and lost customers, repeats, compensation)"),
                 fontsize=10)  # fmt: skip
    ax.set_ylabel(_("cost points"))
    ax.tick_params(axis="x", labelsize=8)
    line = ax.twinx()
    line.plot(names, share, color=TARGET, marker="o", linewidth=1.5)
    line.set_ylim(0, 105)
    line.set_ylabel(_("cumulative share (%)"))


def _short(name: str, most: int = 22) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip() + "…"


def encode_png(fig: Figure) -> bytes:
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png")
    # A 32-colour palette keeps a chart this simple crisp at about a quarter of the bytes, small
    # enough to ride inside a Teams card as a data URI.
    out = io.BytesIO()
    Image.open(io.BytesIO(rendered.getvalue())).convert("RGB").quantize(colors=32).save(
        out, "PNG", optimize=True
    )
    return out.getvalue()


def digest_chart(digest: Digest) -> bytes:
    return encode_png(digest_figure(digest))
