"""The digest's chart: a real PNG, attached to the posted digest, saved by the shell."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import date
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from teambot.bootstrap import Container
from teambot.core.insights.charts import (
    category_colour,
    digest_chart,
    digest_figure,
    resolve_bins,
    week_dates,
)
from teambot.core.insights.delivery import chart_attachment
from teambot.core.insights.digest import Digest, Figures
from teambot.shell.session import ShellSession

PNG = b"\x89PNG\r\n\x1a\n"


def _digest(**kw: object) -> Digest:
    base = dict(
        team_id="T1", week="2026-W48", start="2026-11-23T00:00:00+00:00", end="2026-11-30T00:00:00+00:00",
        timezone="UTC", currency="USD", this=Figures(), last=Figures(),
    )  # fmt: skip
    return Digest(**{**base, **kw})  # type: ignore[arg-type]


BUSY = dict(
    opened_per_day={"2026-11-23": {"booking": 2, "delivery": 1}, "2026-11-26": {"booking": 4}},
    resolve_hours=[1.5, 3.0, 30.0, 12.0],
    categories=["billing", "booking", "delivery", "staff"],
    previous_weeks=[{"week": f"2026-W{n}", "opened": n - 40} for n in (44, 45, 46, 47)],
    this=Figures(opened=7),
)


def test_chart_is_a_png_for_a_busy_week() -> None:
    busy = digest_chart(_digest(**BUSY))
    assert busy.startswith(PNG) and len(busy) > 5_000


def _axes(fig: Figure) -> tuple[Axes, Axes, Axes]:
    per_day, resolve, weeks = fig.axes
    return per_day, resolve, weeks


def test_the_figure_holds_the_weeks_data() -> None:
    fig = digest_figure(_digest(**BUSY))
    per_day, resolve, weeks = _axes(fig)
    # Stacked bars per category, in the team's order: booking then delivery.
    booking, delivery = per_day.containers
    assert [b.get_height() for b in booking] == [2, 0, 0, 4, 0, 0, 0]
    assert [b.get_height() for b in delivery] == [1, 0, 0, 0, 0, 0, 0]
    assert next(b.get_y() for b in delivery) == 2
    # Whole-number count axes.
    for ax in (per_day, resolve, weeks):
        locator = ax.yaxis.get_major_locator()
        assert isinstance(locator, MaxNLocator) and locator._integer
    # The legend sits outside the plot.
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = per_day.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["booking", "delivery"]
    assert legend.get_window_extent(renderer).x0 >= per_day.get_window_extent(renderer).x1
    # The 24 h target falls on a bin edge.
    bars = resolve.patches
    edges = sorted({round(p.get_x(), 6) for p in bars} | {round(p.get_x() + p.get_width(), 6) for p in bars})
    assert 24.0 in edges and edges[0] == 0 and edges[-1] >= 30
    # This week against the four before.
    assert [b.get_height() for b in weeks.containers[0]] == [4, 5, 6, 7, 7]
    assert [t.get_text() for t in weeks.get_xticklabels()] == ["W44", "W45", "W46", "W47", "W48"]
    # The week's dates in the title.
    assert fig.get_suptitle() == "Recovery cases, 23\u2009–\u200929 Nov 2026 (2026-W48)"  # CLDR's interval


def test_a_category_keeps_its_colour_from_week_to_week() -> None:
    cats = ["billing", "booking", "delivery", "staff"]
    one = digest_figure(_digest(categories=cats, opened_per_day={"2026-11-23": {"booking": 1, "staff": 2}}))
    two = digest_figure(
        _digest(categories=cats, opened_per_day={"2026-11-24": {"delivery": 1, "staff": 1, "billing": 3}})
    )

    def colours(fig: Figure) -> dict[str, tuple[float, ...]]:
        per_day = fig.axes[0]
        return {c.get_label(): tuple(c.patches[0].get_facecolor()) for c in per_day.containers}

    a, b = colours(one), colours(two)
    assert a["staff"] == b["staff"]  # third in one week's bars, second in the other's
    assert len(set(b.values())) == 3
    assert category_colour("staff", cats) == category_colour("staff", cats)
    assert category_colour("gone", cats) == category_colour("gone", cats)  # a stable hash, not order


def test_bins_put_the_target_on_an_edge() -> None:
    for hours, target in (([1.5, 3.0, 30.0, 12.0], 24), ([0.2, 0.4], 4), ([300.0], 24), ([7.0], 8), ([5.0], 5)):
        edges = resolve_bins(hours, target)
        assert any(abs(e - target) < 1e-6 for e in edges), (hours, target, edges)
        assert edges[0] == 0 and edges[-1] > max(hours) and len(edges) <= 40


def test_week_dates() -> None:
    assert week_dates(date(2026, 11, 23)) == "23\u2009–\u200929 Nov 2026"
    assert week_dates(date(2026, 11, 30)) == "30 Nov\u2009–\u20096 Dec 2026"
    assert week_dates(date(2025, 12, 29)) == "29 Dec 2025\u2009–\u20094 Jan 2026"


def test_an_empty_week_has_no_chart() -> None:
    assert chart_attachment(_digest()) is None
    assert chart_attachment(_digest(**BUSY)) is not None


async def test_the_shell_saves_the_posted_digest_chart(container: Container) -> None:
    script = (
        "/recover policy digest monday 09:00 UTC #managers\n"
        "/recover Mr Lee: parcel lost #delivery\n"
        "/later 8d\n"
    )
    out = io.StringIO()
    await ShellSession(container, stdin=io.StringIO(script), stdout=out, user="you").run()
    text = out.getvalue()
    assert "🔔 [#managers] " in text
    found = re.search(r"📎 Recovery cases, 2026-W48: (\S+\.png)", text)
    assert found, text[-2000:]
    assert (await asyncio.to_thread(Path(found.group(1)).read_bytes)).startswith(PNG)


def test_the_pareto_of_what_to_fix_first() -> None:
    """Bars by cost, costliest first; the line is the cumulative share of the week's cost (issue 24)."""
    pareto = [{"cause": "Heat lamp", "points": 6.0, "cases": 4}, {"cause": "Housekeeping", "points": 3.0, "cases": 3},
              {"cause": "Double charge", "points": 1.0, "cases": 1}]  # fmt: skip
    fig = digest_figure(_digest(**BUSY, improvement={"pareto": pareto}))
    *_, bars, share = fig.axes  # per day, time to resolve, weeks, then the Pareto and its line
    assert [b.get_height() for b in bars.patches] == [6.0, 3.0, 1.0]
    assert [t.get_text() for t in bars.get_xticklabels()] == ["Heat lamp", "Housekeeping", "Double charge"]
    assert list(share.lines[0].get_ydata()) == [60.0, 90.0, 100.0]
    assert "What to fix first" in bars.get_title()
    assert len(_digest(**BUSY).improvement) == 0 and len(digest_figure(_digest(**BUSY)).axes) == 3
    assert digest_chart(_digest(**BUSY, improvement={"pareto": pareto})).startswith(PNG)
