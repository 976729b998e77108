"""The targeting job function, free of the web layer.

:func:`run_plan_job` needs only a job id and the settings, so the same code runs in
the embedded worker's child process today and on a distributed queue later.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update

from api.config import Settings
from api.db import Database
from api.models import Image, Job, Plan, utc_now
from api.storage import Storage
from navsvc.errors import InputError
from navsvc.options import PlanOptions

log = logging.getLogger("navsvc.jobs")


def load_function(spec: str) -> Callable:
    """Import ``module:function`` and return the function."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def plan_options(options: dict) -> PlanOptions:
    """Build :class:`PlanOptions` from the JSON stored with a job."""
    values = dict(options)
    for key in ("mni_mm", "native_ras_mm"):
        if values.get(key) is not None:
            values[key] = tuple(float(v) for v in values[key])
    return PlanOptions(**values)


def finish_job(database: Database, job_id: str, state: str, **values) -> None:
    """Mark a running job ``succeeded`` or ``failed`` (no effect on other states)."""
    with database.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running")
            .values(state=state, finished_at=utc_now(), **values)
        )


def _set_stage(database: Database, job_id: str, stage: str) -> None:
    with database.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id, Job.state == "running").values(stage=stage[:100])
        )


def _store_plan(database: Database, storage: Storage, job: Job, out_dir: Path,
                plan: dict) -> str:
    plan_id = str(plan.get("plan_id") or job.id)
    with database.session() as session:
        session.add(Plan(id=plan_id, image_id=job.image_id, job_id=job.id,
                         data=json.loads(json.dumps(plan)), result_dir=storage.relative(out_dir)))
        session.flush()
        session.execute(
            update(Job).where(Job.id == job.id)
            .values(state="succeeded", plan_id=plan_id, stage=None, finished_at=utc_now())
        )
    return plan_id


def run_plan_job(job_id: str, settings: Settings) -> str:
    """Run the targeting job ``job_id`` (already claimed: state ``running``).

    Parameters
    ----------
    job_id : str
        The job to run.
    settings : Settings
        Service settings (database URL, data folder, plan function).

    Returns
    -------
    str
        The final state, ``"succeeded"`` or ``"failed"``.
    """
    database = Database(settings.resolved_database_url)
    storage = Storage(settings.data_dir)
    try:
        with database.session() as session:
            job = session.get(Job, job_id)
            image = session.get(Image, job.image_id) if job else None
        if job is None or image is None:
            log.error("job %s or its image does not exist", job_id)
            return "failed"
        make_plan = load_function(settings.plan_function)
        discard_job_files(settings, job_id)  # what an interrupted earlier attempt left
        out_dir = storage.plan_dir(job_id)
        stored = False
        try:
            plan = make_plan(storage.absolute(image.stored_path), out_dir,
                             plan_options(job.options),
                             progress=lambda stage: _set_stage(database, job_id, stage))
            _store_plan(database, storage, job, out_dir, plan)
            stored = True
            log.info("job %s succeeded", job_id)
            return "succeeded"
        except InputError as exc:
            finish_job(database, job_id, "failed", reason=str(exc))
        except Exception as exc:
            log.exception("job %s failed", job_id)
            finish_job(database, job_id, "failed",
                       reason=f"internal error ({type(exc).__name__}); see the service log")
        finally:
            if not stored:
                discard_unstored_files(database, settings, job_id)
        return "failed"
    finally:
        database.dispose()


def _plan_stored(database: Database, job_id: str) -> bool:
    # Asked before the files of a job that did not finish normally are deleted: a stop or
    # a crash can land after the commit of the plan. If the database cannot say, keep them.
    try:
        with database.session() as session:
            return session.scalar(select(Plan.id).where(Plan.job_id == job_id).limit(1)) is not None
    except Exception:
        log.exception("job %s: could not check for a stored plan; its files are kept", job_id)
        return True


def discard_unstored_files(database: Database, settings: Settings, job_id: str) -> None:
    """Delete the result folder of job ``job_id`` unless a stored plan holds it.

    Parameters
    ----------
    database : Database
        The service database (asked whether the job stored a plan).
    settings : Settings
        Service settings (the data folder).
    job_id : str
        The job whose folder goes.
    """
    if not _plan_stored(database, job_id):
        discard_job_files(settings, job_id)


def discard_job_files(settings: Settings, job_id: str) -> None:
    """Delete the result folder of job ``job_id`` and everything in it, if it exists.

    A job that produced no stored plan leaves nothing behind: its partial outputs (the
    patient's transforms, a half-written report) are reachable through no API and would
    only be copied into backups.

    Parameters
    ----------
    settings : Settings
        Service settings (the data folder).
    job_id : str
        The job whose folder goes.
    """
    shutil.rmtree(Storage(settings.data_dir).plans_dir / job_id, ignore_errors=True)


def _exit_on_sigterm(signum: int, _frame) -> None:
    # Leave by an exception, not at once, so that with/finally blocks run: the pipeline
    # keeps the patient's registration files in a temporary folder that they delete.
    raise SystemExit(128 + signum)


def child_main(job_id: str, settings: Settings) -> None:
    """Entry point of the worker's child process: set up logging, run the job.

    A SIGTERM (the worker stopping with the service) ends the job through ``SystemExit``,
    which runs its clean-up; the job stays ``running`` and is re-queued at the next start.
    """
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s [job] %(message)s")
    run_plan_job(job_id, settings)
