"""The HAMD-17 trajectory plot's time axis is in the clinic's days."""

from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates

from navsvc.course.plot import RatingPoint, hamd_trajectory_figure, hamd_trajectory_png


def _axis_day(figure, label: str) -> str:
    axes = figure.axes[0]
    line = next(line for line in axes.lines if line.get_label() == label)
    return axes.xaxis.get_major_formatter()(mdates.date2num(line.get_xdata()[0]))


def test_an_evening_rating_west_of_greenwich_is_on_its_own_day():
    # 17:30 in Los Angeles is 01:30 UTC the next day: the axis labelled it the next day,
    # while the CSV put it on the clinic's day
    zone = ZoneInfo("America/Los_Angeles")
    evening = datetime(2025, 3, 7, 17, 30, tzinfo=zone)
    figure = hamd_trajectory_figure([RatingPoint("week1", evening, 12)], "course", baseline_total=24,
                                    session_dates=[evening], zone=zone)
    assert _axis_day(figure, "HAMD-17 total") == "2025-03-07"
    assert _axis_day(figure, "sessions delivered") == "2025-03-07"
    east = hamd_trajectory_figure([RatingPoint("week1", evening, 12)], "course", zone=ZoneInfo("Asia/Tokyo"))
    assert _axis_day(east, "HAMD-17 total") == "2025-03-08"  # 10:30 the next morning in Tokyo


def test_the_png_is_drawn():
    png = hamd_trajectory_png([], "course")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
