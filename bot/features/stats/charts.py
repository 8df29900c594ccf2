"""The stats chart: the funnel as horizontal bars and daily active students as a line, one PNG.

Drawn with matplotlib's Agg backend through the object API (no pyplot state), so it is safe
to render in a worker thread. For a lead it counts the students who agreed to share, exactly
(see report); should a hidden number ever reach it, it is never drawn as a value: a hidden
bar is an empty hatched bar labelled "<5", and hidden days are left out of the line. The
daily line starts on the day the cohort (the earliest one in scope) was made.
"""

import io
import math

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.features.stats.report import LOW_COUNT, LOW_LABEL, StatsReport

BAR_COLOR = "#3b7dd8"
LINE_COLOR = "#e07b39"
HIDDEN_COLOR = "#9aa5b1"
DPI = 100
SIZE = (9.0, 7.0)
MAX_DATE_TICKS = 10


def scope_title(report: StatsReport) -> str:
    if report.cohort_name is not None:
        who = report.cohort_name
    elif report.exact:
        who = "All students"
    else:
        who = "Your cohorts"
    if report.days is None:
        return f"{who} · all time"
    # The day it ends: the dashboard's ranges may end in the past.
    span = "1 day" if report.days == 1 else f"{report.days} days"
    return f"{who} · {span} to {report.now:%d %b %Y}"


def build_figure(report: StatsReport) -> Figure:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    funnel_axes, daily_axes = figure.subplots(2, 1)
    # The title holds a cohort's name, typed by a lead: "$" must not start a formula.
    figure.suptitle(scope_title(report), fontsize=14, fontweight="bold", parse_math=False)
    _draw_funnel(funnel_axes, report)
    _draw_daily(daily_axes, report)
    return figure


def render_chart(report: StatsReport) -> bytes:
    """The chart of `report` as PNG bytes."""
    buffer = io.BytesIO()
    build_figure(report).savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_funnel(axes: Axes, report: StatsReport) -> None:
    steps = report.funnel.steps
    labels = [step.label for step in steps]
    known = [step.count.exact for step in steps if step.count.exact is not None]
    top = max([*known, LOW_COUNT])
    positions = list(range(len(steps)))
    for position, step in zip(positions, steps, strict=True):
        if step.count.exact is None:
            axes.barh(
                position,
                LOW_COUNT,
                color="none",
                edgecolor=HIDDEN_COLOR,
                hatch="///",
                linewidth=1,
            )
            text = LOW_LABEL
        else:
            axes.barh(position, step.count.exact, color=BAR_COLOR)
            text = f"{step.count.exact:,}"
            if step.percent is not None and step.key != "active":
                text += f"  ({step.percent}%)"
        width = LOW_COUNT if step.count.exact is None else step.count.exact
        axes.text(width + top * 0.01, position, text, va="center", fontsize=11)
    axes.set_yticks(positions, labels, fontsize=11)
    axes.invert_yaxis()
    axes.set_xlim(0, top * 1.25)
    axes.set_title(
        "Funnel: students active in the period"
        if report.exact
        else "Funnel: students who shared, active in the period",
        fontsize=12,
        loc="left",
    )
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(axis="x", labelsize=9)


def _draw_daily(axes: Axes, report: StatsReport) -> None:
    days = list(range(len(report.daily)))
    values = [math.nan if day.count.exact is None else day.count.exact for day in report.daily]
    hidden = any(day.count.exact is None for day in report.daily)
    axes.plot(days, values, color=LINE_COLOR, marker="o", markersize=3, linewidth=2)
    shown = [value for value in values if not math.isnan(value)]
    top = max([*shown, LOW_COUNT])
    if hidden:
        axes.axhspan(
            0,
            LOW_COUNT,
            facecolor="none",
            edgecolor=HIDDEN_COLOR,
            hatch="///",
            linewidth=0,
            label=f"days with {LOW_LABEL} students (not shown)",
        )
        axes.legend(loc="upper left", fontsize=9, frameon=False)
    axes.set_ylim(0, top * 1.15 + 1)
    span = "1 day" if len(days) == 1 else f"{len(days)} days"
    axes.set_title(f"Daily active students, {span}", fontsize=12, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#e5e8eb", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(axis="both", labelsize=9)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    every = max(1, math.ceil(len(days) / MAX_DATE_TICKS))
    ticks = days[::-1][::every][::-1]  # always label the last day (today)
    axes.set_xticks(ticks, [report.daily[tick].day.strftime("%d %b") for tick in ticks])
    if days:
        axes.set_xlim(days[0] - 0.5, days[-1] + 0.5)
