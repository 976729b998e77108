"""Engine settings, from environment variables (one settings object for the library).

The REST service has its own settings (``api/config.py``) for the web layer.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from navsvc.errors import InputError


#: environment variable that sets ITK's thread count, read once when a process starts ITK
ITK_THREADS_VARIABLE = "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"


class EngineSettings(BaseSettings):
    """Settings of the targeting engine.

    Attributes
    ----------
    cache_dir : Path
        Where data derived from the templates (the 2 mm fixed images, Colin27's head distance
        map) is kept between runs
        (``NAVSVC_CACHE_DIR``, default ``~/.cache/navsvc``).
    threads : int
        Threads for ITK/ANTs (``NAVSVC_THREADS``, default 1). The registration's affine stages
        are bit-for-bit repeatable only single-threaded (measured here: 2 threads moved mapped
        points by up to 0.4 mm between identical runs); more threads trade that for speed.
        The SyN stage runs in a process of its own with at least 2 threads, repeatable there
        (:mod:`navsvc.syn_process`). A service runs one job per core (``NAVSVC_WORKERS``).
    """

    model_config = SettingsConfigDict(env_prefix="NAVSVC_", extra="ignore")

    cache_dir: Path = Field(default_factory=lambda: Path(os.path.expanduser("~")) / ".cache" / "navsvc")
    threads: int = Field(default=1, ge=1)


@lru_cache(maxsize=1)
def engine_settings() -> EngineSettings:
    """The process-wide engine settings (read once).

    Raises
    ------
    InputError
        A ``NAVSVC_*`` variable holds a value that is not valid (see :func:`invalid_settings`).
    """
    try:
        return EngineSettings()
    except ValidationError as exc:
        raise invalid_settings(exc) from None


def invalid_settings(exc: ValidationError) -> InputError:
    """The error to raise for settings read from ``NAVSVC_*`` variables that are not valid.

    Parameters
    ----------
    exc : pydantic.ValidationError
        What the settings class found.

    Returns
    -------
    InputError
        Naming each variable, what it must be and what it was: the commands print it as
        one line and exit with code 2, not a traceback.
    """
    problems = "; ".join(
        f"NAVSVC_{'_'.join(str(part) for part in error['loc']).upper()}={error['input']!r}: "
        f"{error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors())
    return InputError(f"invalid setting: {problems}")
