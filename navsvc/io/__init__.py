"""Input: the one door every T1 goes through (:func:`load_t1`)."""

from navsvc.io.loader import LoadedT1, load_t1, validate_t1_file

__all__ = ["LoadedT1", "load_t1", "validate_t1_file"]
