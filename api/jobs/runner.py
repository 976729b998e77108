"""The targeting job function, free of the web layer.

:func:`run_plan_job` needs only a claim on the job (:class:`~api.jobs.claims.Holder`)
and the settings, so the same code runs in the embedded worker's child process and on
the distributed queue's workers.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import select, update

from api.config import Settings
from api.db import Database
from api.jobs.claims import Holder
from api.models import Image, Job, Plan, utc_now
from api.storage import Storage
from navsvc.errors import InputError
from navsvc.options import PlanOptions
from navsvc.process_memory import reuse_freed_memory

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


def finish_job(database: Database, holder: Holder, state: str, **values) -> bool:
    """Mark the job of ``holder`` ``succeeded`` or ``failed``, if that claim still holds it.

    Parameters
    ----------
    database : Database
        The service database.
    holder : Holder
        The claim that must still hold the job.
    state : str
        ``"succeeded"`` or ``"failed"``.
    **values
        Further columns of the job to set (``reason``, ``stage``, ...).

    Returns
    -------
    bool
        Whether this call ended the job (False if it finished or was taken over).
    """
    with database.session() as session:
        return bool(session.execute(
            update(Job).where(holder.holds())
            .values(state=state, finished_at=utc_now(), **values)
        ).rowcount)


def fail_job(database: Database, settings: Settings, holder: Holder, reason: str,
             **values) -> bool:
    """Fail the job of ``holder`` with ``reason`` and delete the files no plan holds.

    When this claim ended the job, every result folder of the job without a stored
    plan goes (those of earlier attempts belong to runs that lost their claim and can
    store nothing); otherwise only this run's own.

    Parameters
    ----------
    database : Database
        The service database.
    settings : Settings
        Service settings (the data folder).
    holder : Holder
        The claim of the run that fails the job.
    reason : str
        Why the job failed, stored as its ``reason`` (shown to the client).
    **values
        Further columns of the job to set (e.g. ``stage=None``).

    Returns
    -------
    bool
        Whether this call failed the job.
    """
    ended = finish_job(database, holder, "failed", reason=reason, **values)
    if ended:
        discard_job_files(database, settings, holder.job_id)
    else:
        discard_run_files(database, settings, holder)
    return ended


class ClaimLost(Exception):
    """The job was taken over by another worker: this run stops at its next stage."""


def _set_stage(database: Database, holder: Holder, stage: str) -> None:
    """Record the stage the run starts; raise :class:`ClaimLost` when the claim no longer
    holds the job, so a run that lost it does not compute on for nothing."""
    with database.session() as session:
        held = session.execute(update(Job).where(holder.holds()).values(stage=stage[:100])).rowcount
    if not held:
        raise ClaimLost(stage)


def _store_plan(database: Database, storage: Storage, holder: Holder, image_id: str,
                out_dir: Path, plan: dict) -> str | None:
    """Store the plan and mark the job succeeded, only while ``holder`` holds the job.

    The plan row names this run's own folder, in the transaction that ends the job, so
    the stored plan's files are exactly what this run wrote. Returns the plan id, or
    ``None`` (nothing stored) when the claim was lost to another worker.
    """
    plan_id = str(plan.get("plan_id") or holder.job_id)
    with database.session() as session:
        held = session.execute(
            update(Job).where(holder.holds())
            .values(state="succeeded", plan_id=plan_id, stage=None, finished_at=utc_now())
        ).rowcount
        if not held:
            return None
        session.add(Plan(id=plan_id, image_id=image_id, job_id=holder.job_id,
                         data=json.loads(json.dumps(plan)), result_dir=storage.relative(out_dir)))
    return plan_id


def run_plan_job(holder: Holder, settings: Settings) -> str:
    """Run the targeting job claimed by ``holder`` (state ``running``).

    The plan function writes into this attempt's own folder; the plan is stored, and
    the job ended, only while the claim still holds the job.

    Parameters
    ----------
    holder : Holder
        The claim on the job to run.
    settings : Settings
        Service settings (database URL, data folder, plan function).

    Returns
    -------
    str
        ``"succeeded"`` or ``"failed"`` (the job's final state), or ``"lost"`` when
        another worker took the job over: this run then stored nothing.
    """
    database = Database(settings.resolved_database_url)
    storage = Storage(settings.data_dir)
    try:
        with database.session() as session:
            job = session.get(Job, holder.job_id)
            image = session.get(Image, job.image_id) if job else None
        if job is None or image is None:
            log.error("job %s or its image does not exist", holder.job_id)
            return "failed"
        make_plan = load_function(settings.plan_function)
        return _run(database, settings, storage, holder, make_plan, job, image)
    finally:
        database.dispose()


def _run(database: Database, settings: Settings, storage: Storage, holder: Holder,
         make_plan: Callable, job: Job, image: Image) -> str:
    """Body of :func:`run_plan_job`: plan into this attempt's folder, store or fail."""
    job_id = holder.job_id
    out_dir = storage.run_dir(job_id, holder.attempt)
    outcome = "lost"
    try:
        plan = make_plan(storage.absolute(image.stored_path), out_dir, plan_options(job.options),
                         progress=lambda stage: _set_stage(database, holder, stage))
        if _store_plan(database, storage, holder, job.image_id, out_dir, plan) is None:
            log.warning("job %s: attempt %d lost its claim to another worker; its plan is "
                        "not stored", job_id, holder.attempt)
            return outcome
        outcome = "succeeded"
        log.info("job %s succeeded", job_id)
    except ClaimLost as lost:
        log.warning("job %s: attempt %d lost its claim to another worker; stopped before "
                    "stage %s", job_id, holder.attempt, lost)
    except InputError as exc:
        if fail_job(database, settings, holder, str(exc)):
            outcome = "failed"
    except Exception as exc:
        log.exception("job %s failed", job_id)
        if fail_job(database, settings, holder,
                    f"internal error ({type(exc).__name__}); see the service log"):
            outcome = "failed"
    finally:
        if outcome == "succeeded":
            discard_job_files(database, settings, job_id)  # earlier attempts' leftovers
        elif outcome == "lost":  # also a stop (SystemExit) before the outcome was known
            discard_run_files(database, settings, holder)
    return outcome


def _plan_holds(database: Database, storage: Storage, folder: Path) -> bool:
    """Whether a stored plan's result folder is ``folder``.

    Asked before any result folder is deleted: a stop can land between the commit of
    the plan and the line after it. If the database cannot say, keep the files.
    """
    try:
        with database.session() as session:
            return session.scalar(select(Plan.id).where(
                Plan.result_dir == storage.relative(folder)).limit(1)) is not None
    except Exception:
        log.exception("could not check for a plan stored in %s; its files are kept", folder)
        return True


def _discard_unless_stored(database: Database, storage: Storage, folder: Path) -> None:
    if folder.exists() and not _plan_holds(database, storage, folder):
        shutil.rmtree(folder, ignore_errors=True)


def discard_run_files(database: Database, settings: Settings, holder: Holder) -> None:
    """Delete the result folder of ``holder``'s run, unless a stored plan holds it.

    A run that produced no stored plan leaves nothing behind: its partial outputs (the
    patient's transforms, a half-written report) are reachable through no API and would
    only be copied into backups.

    Parameters
    ----------
    database : Database
        The service database (asked whether a plan holds the folder).
    settings : Settings
        Service settings (the data folder).
    holder : Holder
        The claim whose run's folder goes.
    """
    storage = Storage(settings.data_dir)
    _discard_unless_stored(database, storage, storage.run_path(holder.job_id, holder.attempt))


def discard_job_files(database: Database, settings: Settings, job_id: str) -> None:
    """Delete every result folder of the ended job ``job_id`` that no stored plan holds.

    Call it only once the job succeeded or failed: then no run of it can store a plan,
    and folders left by its earlier attempts (a killed worker's) are only patient data
    to be removed.

    Parameters
    ----------
    database : Database
        The service database (asked whether a plan holds a folder).
    settings : Settings
        Service settings (the data folder).
    job_id : str
        The job whose leftover folders go.
    """
    storage = Storage(settings.data_dir)
    for folder in storage.job_dirs(job_id):
        _discard_unless_stored(database, storage, folder)


def _exit_on_sigterm(signum: int, _frame) -> None:
    # Leave by an exception, not at once, so that with/finally blocks run: the pipeline
    # keeps the patient's registration files in a temporary folder that they delete.
    raise SystemExit(128 + signum)


def standby_main(jobs: Connection, settings: Settings) -> None:
    """Entry point of the worker's standby process: load the plan function and its
    modules, wait for one job on ``jobs``, then run it as :func:`child_main` does.

    The embedded worker starts it while idle (``settings.standby_process``), so that the
    next job plans at once instead of first importing the engine (ANTs, SciPy, trimesh:
    about 2 s of a 15-17 s plan here). When the worker closes its end unused (it stopped, or
    the service was killed), the process ends without doing anything.

    Parameters
    ----------
    jobs : multiprocessing.connection.Connection
        Receiving end of a pipe from the worker, which sends the job's :class:`Holder`;
        closed after the one receive.
    settings : Settings
        Service settings (plan function, database, data folder, log level).
    """
    load_function(settings.plan_function)
    try:
        holder = jobs.recv()
    except EOFError:
        return
    finally:
        jobs.close()
    child_main(holder, settings)


def child_main(holder: Holder, settings: Settings) -> None:
    """Entry point of the worker's child process: set up logging, run the job.

    A SIGTERM (the worker stopping with the service) ends the job through ``SystemExit``,
    which runs its clean-up; the job stays ``running`` and is re-queued at the next start.

    Parameters
    ----------
    holder : Holder
        The claim on the job to run.
    settings : Settings
        Service settings (plan function, database, data folder, log level).
    """
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    reuse_freed_memory()  # this process runs one job and ends
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s [job] %(message)s")
    run_plan_job(holder, settings)
