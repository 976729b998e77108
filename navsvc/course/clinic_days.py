"""The days a clinic treats patients: its working weekdays minus its closure dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from navsvc.errors import InputError

#: days searched for a clinic day: a calendar without one in ten years is a configuration
#: mistake, not a wait
MAX_SEARCH_DAYS = 3653


@dataclass(frozen=True)
class ClinicCalendar:
    """The days a clinic treats patients.

    Parameters
    ----------
    working_weekdays : frozenset of int
        Weekday numbers the clinic is open (Monday = 0 ... Sunday = 6); default Monday-Friday.
    closures : frozenset of datetime.date
        Dates the clinic is closed although they fall on a working weekday (holidays).
    """

    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    closures: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        weekdays = frozenset(self.working_weekdays)
        if not weekdays:
            raise InputError("a clinic calendar needs at least one working weekday")
        bad = sorted(d for d in weekdays if not isinstance(d, int) or not 0 <= d <= 6)
        if bad:
            raise InputError(f"working weekdays are numbers 0 (Monday) to 6 (Sunday); got {bad}")
        object.__setattr__(self, "working_weekdays", weekdays)
        object.__setattr__(self, "closures", frozenset(self.closures))

    def is_clinic_day(self, day: date) -> bool:
        """Return True when the clinic treats patients on ``day``."""
        return day.weekday() in self.working_weekdays and day not in self.closures
