"""Service settings, read from ``NAVSVC_*`` environment variables."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from navsvc.config import EngineSettings, invalid_settings


class Settings(BaseSettings):
    """Settings of one service instance.

    Attributes
    ----------
    data_dir : Path
        Folder for the embedded database, stored images and plan results
        (``NAVSVC_DATA_DIR``).
    database_url : str or None
        SQLAlchemy URL (``NAVSVC_DATABASE_URL``); default SQLite (WAL) in ``data_dir``.
        ``postgresql+psycopg://user:password@host/db`` switches to PostgreSQL.
    max_upload_mb : int
        Largest accepted upload, MiB (``NAVSVC_MAX_UPLOAD_MB``; at most 2047: image sizes
        are stored as 32-bit integers, and a head T1 is a few hundred MiB at most).
    workers : int
        Targeting jobs run at the same time by the embedded worker (``NAVSVC_WORKERS``).
    api_workers : int
        HTTP processes of ``navsvc serve`` (``NAVSVC_API_WORKERS``; ``--workers``).
    log_level : str
        Python logging level name (``NAVSVC_LOG_LEVEL``).
    embedded_worker : bool
        Run the in-process job worker (``NAVSVC_EMBEDDED_WORKER``).
    job_poll_interval_s : float
        How often the worker looks for queued jobs when nobody woke it, seconds.
    standby_process : bool
        While no job runs, keep one job process started ahead with the engine loaded
        (``NAVSVC_STANDBY_PROCESS``, default on): the next job then plans at once instead
        of first spending 3-5 s importing it. It holds about 0.3 GiB while it waits.
    plan_function : str
        ``module:function`` that computes a plan with the signature of
        :func:`navsvc.pipeline.make_plan`; replaceable to test the job machinery.
    broker_url : str or None
        Celery broker (``NAVSVC_BROKER_URL``, e.g. ``redis://redis:6379/0``). When set,
        targeting jobs go to ``navsvc worker`` processes instead of the embedded worker.
    queue : str
        Name of the broker queue the jobs go to (``NAVSVC_QUEUE``).
    broker_visibility_timeout_s : float
        Seconds after which the broker hands a job that a worker took but never
        acknowledged to another worker (``NAVSVC_BROKER_VISIBILITY_TIMEOUT_S``). It must
        exceed the longest job: a dead worker's job restarts at most this long after it
        was taken.
    job_lease_s : float
        A running job's claim is renewed every third of this; a claim not renewed for
        this long belongs to a dead worker and may be taken over (``NAVSVC_JOB_LEASE_S``).
    worker_heartbeat_file : Path or None
        Set by ``navsvc serve --workers N`` for its API processes
        (``NAVSVC_WORKER_HEARTBEAT_FILE``): the embedded worker, which runs in the
        supervising process, touches this file on every poll, and their ``/readyz``
        reports the worker stopped when it is stale.
    clinic_timezone : str or None
        IANA name of the clinic's time zone, e.g. ``Europe/Berlin``
        (``NAVSVC_CLINIC_TIMEZONE``); default the server's own. It decides which day a
        logged time falls on (one session a day, due dates) and what "today" is.
    """

    model_config = SettingsConfigDict(env_prefix="NAVSVC_", extra="ignore")

    data_dir: Path = Path("./navsvc-data")
    database_url: str | None = None
    max_upload_mb: int = Field(default=1024, ge=1, le=2047)
    workers: int = Field(default=1, ge=1)
    api_workers: int = Field(default=1, ge=1)
    log_level: str = "INFO"
    embedded_worker: bool = True
    job_poll_interval_s: float = Field(default=1.0, gt=0)
    standby_process: bool = True
    plan_function: str = "navsvc.pipeline:make_plan"
    broker_url: str | None = None
    queue: str = "navsvc-plans"
    broker_visibility_timeout_s: float = Field(default=300.0, gt=0)
    job_lease_s: float = Field(default=30.0, gt=0)
    worker_heartbeat_file: Path | None = None
    clinic_timezone: str | None = None

    @field_validator("clinic_timezone")
    @classmethod
    def _known_time_zone(cls, name: str | None) -> str | None:
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known time zone: use an IANA name such as Europe/Berlin "
                             "or America/New_York") from None
        return name

    @property
    def clinic_zone(self) -> tzinfo | None:
        """The clinic's time zone, or None for the server's local one."""
        return ZoneInfo(self.clinic_timezone) if self.clinic_timezone else None

    @property
    def resolved_database_url(self) -> str:
        """The database URL to use: the configured one or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'navsvc.sqlite3').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return self.max_upload_mb * 1024 * 1024


def load_settings(**overrides) -> Settings:
    """Read the settings from the ``NAVSVC_*`` environment (``overrides`` win).

    Raises
    ------
    InputError
        Naming each variable whose value is not valid, what it must be and what it was
        (the commands print it as one line and exit with code 2, not a traceback). The
        engine's settings (``NAVSVC_THREADS``, ``NAVSVC_CACHE_DIR``) are checked too: read
        only when a job starts, a bad value would let the service start and fail every job.
    """
    try:
        EngineSettings()
        return Settings(**overrides)
    except ValidationError as exc:
        raise invalid_settings(exc) from None
