"""PNG plot of a course's HAMD-17 trajectory with the response and remission thresholds."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import matplotlib.dates as mdates
from matplotlib.figure import Figure

from navsvc.course.hamd17 import MAX_TOTAL, REMISSION_MAX_TOTAL, RESPONSE_REDUCTION, SEVERITY_BANDS

#: fill of the severity bands none, mild, moderate, severe, very severe
_BAND_COLOURS = ("#e3f2e5", "#fdf8d8", "#fde7c8", "#f9d3c9", "#f1b9b9")


@dataclass(frozen=True)
class RatingPoint:
    """One rating to plot: timepoint label, when it was rated, its total (0-52)."""

    timepoint: str
    rated_at: datetime
    total: int


def hamd_trajectory_png(points: Sequence[RatingPoint], title: str,
                        baseline_total: int | None = None,
                        session_dates: Sequence[datetime] = (), zone: tzinfo | None = None) -> bytes:
    """Draw HAMD-17 totals over time and return the PNG bytes
    (:func:`hamd_trajectory_figure`, same parameters).

    Parameters
    ----------
    points : sequence of RatingPoint
        Ratings in time order (may be empty).
    title : str
        Figure title (no patient-identifying text).
    baseline_total : int, optional
        Baseline total; the response threshold is drawn when given and not 0.
    session_dates : sequence of datetime
        Delivered sessions, drawn as ticks along the bottom.
    zone : tzinfo, optional
        The clinic's time zone, whose days label the time axis (default the server's).

    Returns
    -------
    bytes
        The figure as a PNG file (800 x 450 pixels).
    """
    buffer = io.BytesIO()
    hamd_trajectory_figure(points, title, baseline_total, session_dates, zone).savefig(buffer, format="png")
    return buffer.getvalue()


def _wall_clock(moment: datetime, zone: tzinfo | None) -> datetime:
    """``moment`` as the clinic's clock shows it, without its zone: matplotlib labels
    aware times in UTC."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment.tzinfo else moment


def hamd_trajectory_figure(points: Sequence[RatingPoint], title: str,
                           baseline_total: int | None = None,
                           session_dates: Sequence[datetime] = (), zone: tzinfo | None = None) -> Figure:
    """Draw HAMD-17 totals over time.

    Parameters
    ----------
    points : sequence of RatingPoint
        Ratings in time order (may be empty: the thresholds are still drawn).
    title : str
        Figure title (no patient-identifying text).
    baseline_total : int, optional
        Baseline total; the response threshold (50% of it) is drawn when given.
    session_dates : sequence of datetime
        Delivered sessions, drawn as ticks along the bottom.
    zone : tzinfo, optional
        The clinic's time zone, whose days label the time axis (default the server's, as
        the CSV's dates); matplotlib labels in UTC otherwise, so an evening rating west of
        Greenwich showed on the next day.
    """
    # The object-oriented Figure (no pyplot) keeps no global state, so request threads
    # can draw at the same time.
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.subplots()
    y_top = max(30, max((p.total for p in points), default=0) + 5)
    edges = [lowest for lowest, _ in SEVERITY_BANDS] + [MAX_TOTAL + 1]
    for (lowest, name), top, colour in zip(SEVERITY_BANDS, edges[1:], _BAND_COLOURS):
        ax.axhspan(lowest - 0.5, top - 0.5, color=colour, zorder=0)
        # label each band in the middle of its visible part, right of the axes
        ax.text(1.01, (lowest - 0.5 + min(top - 0.5, y_top)) / 2, name,
                transform=ax.get_yaxis_transform(), fontsize=7, va="center", color="#555555")
    ax.axhline(REMISSION_MAX_TOTAL, color="#2e7d32", linestyle="--", linewidth=1.2,
               label=f"remission (total <= {REMISSION_MAX_TOTAL})")
    if baseline_total:  # a baseline of 0 has no response (hamd17.outcome): no line for it
        threshold = baseline_total * (1 - RESPONSE_REDUCTION)
        ax.axhline(threshold, color="#1565c0", linestyle=":", linewidth=1.5,
                   label=f"response (<= {threshold:g}: 50% below baseline {baseline_total})")
    if points:
        xs = [_wall_clock(p.rated_at, zone) for p in points]
        ys = [p.total for p in points]
        ax.plot(xs, ys, color="#212121", marker="o", linewidth=1.8, label="HAMD-17 total",
                zorder=3)
        for p, x in zip(points, xs):
            ax.annotate(f"{p.timepoint}\n{p.total}", (x, p.total),
                        textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no HAMD-17 rating yet", transform=ax.transAxes, ha="center")
    if session_dates:
        ax.plot([_wall_clock(d, zone) for d in session_dates], [0.3] * len(session_dates), linestyle="none",
                marker="|", markersize=10, color="#6d4c41", label="sessions delivered")
    ax.set_ylim(-0.5, y_top)
    ax.set_ylabel("HAMD-17 total (0-52)")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
