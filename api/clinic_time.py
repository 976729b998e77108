"""The clinic's clock: its time zone, its calendar day of a moment, today and now.

Every rule that counts days takes the day from here, in the clinic's zone
(``NAVSVC_CLINIC_TIMEZONE``), whatever offset a workstation sent and whatever zone the
server runs in; ``Today`` and ``Now`` are dependencies so tests can fix them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Annotated

from fastapi import Depends, Request

from api.models import utc_now
from api.problems import ProblemError


def clinic_zone(request: Request) -> tzinfo | None:
    """Return the clinic's time zone (``NAVSVC_CLINIC_TIMEZONE``; None: the server's)."""
    return request.app.state.settings.clinic_zone


ClinicZone = Annotated[tzinfo | None, Depends(clinic_zone)]


def clinic_day(moment: datetime, zone: tzinfo | None) -> date:
    """Return the clinic's calendar day of ``moment`` (an aware time in any offset).

    Every rule that counts days (one session a day, due dates, pauses) takes the day
    here, so a session logged at 19:30-05:00 falls on the same day for all of them,
    whatever offset the workstation sent and whatever zone the server runs in.

    Parameters
    ----------
    moment : datetime.datetime
        An aware time.
    zone : tzinfo or None
        The clinic's time zone (``NAVSVC_CLINIC_TIMEZONE``); None: the server's local zone.

    Returns
    -------
    datetime.date
        The day ``moment`` falls on in ``zone``.
    """
    return moment.astimezone(zone).date()


#: a workstation clock a few minutes ahead of the server must not make a record "in the future"
CLOCK_SKEW = timedelta(minutes=5)


def refuse_future(moment: datetime, field: str) -> None:
    """Raise a 422 problem when ``moment`` (aware) lies in the future: a record says what
    happened, and a date typed a year ahead would stand in every summary.

    Parameters
    ----------
    moment : datetime.datetime
        The recorded time (aware).
    field : str
        Name of the request field it came from, which starts the message (``"performed_at"``).

    Raises
    ------
    ProblemError
        422 when ``moment`` lies more than :data:`CLOCK_SKEW` (5 minutes) after the server's
        current time.
    """
    if moment > utc_now() + CLOCK_SKEW:
        raise ProblemError(422, f"{field}: lies in the future ({moment.isoformat()}); check the date")


def get_today(zone: ClinicZone) -> date:
    """Return the clinic's current date (a dependency, so tests can fix the day)."""
    return clinic_day(datetime.now(UTC), zone)


Today = Annotated[date, Depends(get_today)]


def get_now() -> datetime:
    """Return the current moment, UTC (a dependency, so tests can fix the moment a pause or
    stop is entered)."""
    return utc_now()


Now = Annotated[datetime, Depends(get_now)]


def in_zone(moment: datetime | None, zone: tzinfo | None) -> datetime | None:
    """``moment`` in the clinic's time zone (as messages show it), or None.

    Parameters
    ----------
    moment : datetime.datetime or None
        An aware time, or None.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    datetime.datetime or None
        The same moment with ``zone``'s offset, or None when ``moment`` is None.
    """
    return None if moment is None else moment.astimezone(zone)

