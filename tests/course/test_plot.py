"""The HAMD-17 trajectory plot's time axis is in the clinic's days."""

from datetime import datetime, timezone
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


def test_the_lines_and_bands_a_clinician_reads_are_where_the_scale_puts_them():
    utc = timezone.utc
    ratings = [RatingPoint("baseline", datetime(2025, 3, 3, 9, tzinfo=utc), 25),
               RatingPoint("week1", datetime(2025, 3, 7, 15, tzinfo=utc), 14)]
    axes = hamd_trajectory_figure(ratings, "course", baseline_total=25).axes[0]
    lines = {line.get_label(): [float(y) for y in line.get_ydata()] for line in axes.lines}
    # remission: a total of 7 or less; response: 50 % below the baseline's 25, i.e. 12.5
    assert lines == {"remission (total <= 7)": [7.0, 7.0],
                     "response (<= 12.5: 50% below baseline 25)": [12.5, 12.5],
                     "HAMD-17 total": [25.0, 14.0]}
    # the severity bands of docs/DESIGN.md §8 (0-7, 8-13, 14-18, 19-22, 23-52), each total inside its own
    bands = [(patch.get_y(), patch.get_y() + patch.get_height()) for patch in axes.patches]
    assert bands == [(-0.5, 7.5), (7.5, 13.5), (13.5, 18.5), (18.5, 22.5), (22.5, 52.5)]
    assert [text.get_text() for text in axes.texts[:5]] == ["none", "mild", "moderate", "severe", "very severe"]
    assert [text.get_position()[1] for text in axes.texts[:5]] == [3.5, 10.5, 16.0, 20.5, 26.25]  # mid-visible
    assert axes.get_ylim() == (-0.5, 30.0)
    tall = hamd_trajectory_figure([RatingPoint("baseline", datetime(2025, 3, 3, 9, tzinfo=utc), 40)], "c").axes[0]
    assert tall.get_ylim() == (-0.5, 45.0)  # the highest total and 5 more
    no_baseline = hamd_trajectory_figure(ratings, "course", baseline_total=0).axes[0]
    assert [line.get_label() for line in no_baseline.lines] == ["remission (total <= 7)", "HAMD-17 total"]
