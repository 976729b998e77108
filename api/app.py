"""The FastAPI application: :func:`create_app`."""

from __future__ import annotations

import gc
import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.audit import AuditMiddleware, AuditWriter
from api.body_limit import BodyLimitMiddleware
from api.config import Settings, load_settings
from api.db import Database
from api.docs import DESCRIPTION, TAGS, install_docs
from api.headers import NoStoreMiddleware
from api.jobs.embedded import EmbeddedWorker
from api.jobs.queue import CeleryQueue
from api.migrations import upgrade
from api.problems import install_problem_handlers
from api.routes import API_PREFIX, ROUTER_MODULES
from api.service_lock import hold_service_lock
from api.storage import Storage
from navsvc import __version__

log = logging.getLogger("navsvc.api")


@asynccontextmanager
async def _lifespan(app: FastAPI):
    settings: Settings = app.state.settings
    # also where another ASGI server runs the application, and in each API process
    lock = hold_service_lock(settings, "the navsvc application")
    try:
        async with _started(app, settings):
            yield
    finally:
        lock.release()


@asynccontextmanager
async def _started(app: FastAPI, settings: Settings):
    app.state.storage.ensure()
    upgrade(settings.resolved_database_url)
    app.state.audit = AuditWriter(app.state.db)
    if settings.broker_url:
        app.state.queue = CeleryQueue(settings, app.state.db)
        app.state.queue.start()
    elif settings.embedded_worker:
        app.state.worker = EmbeddedWorker(settings, app.state.db)
        app.state.worker.start()
    log.info("navsvc API ready (database %s, jobs %s)", app.state.db.engine.dialect.name,
             "on the broker queue" if settings.broker_url else
             "in-process" if settings.embedded_worker else "not run")
    # Everything imported so far lives as long as the process: leave it out of the
    # garbage collector's full passes, which otherwise scan ~200,000 objects and
    # stopped the event loop for 100-300 ms each.
    gc.freeze()
    try:
        yield
    finally:
        if app.state.worker is not None:
            app.state.worker.stop()
        if app.state.queue is not None:
            app.state.queue.stop()
        app.state.audit.close()
        app.state.db.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service application.

    Start-up (the lifespan) takes the shared lock of :mod:`api.service_lock` on the
    data folder for as long as the application runs (and fails while
    ``navsvc admin restore`` runs there), creates the data folders, applies the database
    migrations, starts the audit writer and either the broker queue (when
    ``NAVSVC_BROKER_URL`` is set: jobs run on ``navsvc worker`` processes) or, unless
    disabled, the embedded job worker.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to the ``NAVSVC_*`` environment.
    """
    settings = settings or load_settings()
    app = FastAPI(title="navsvc", version=__version__, description=DESCRIPTION,
                  openapi_tags=TAGS, docs_url=None, redoc_url=None, lifespan=_lifespan)
    app.state.settings = settings
    app.state.db = Database(settings.resolved_database_url)
    app.state.storage = Storage(settings.data_dir)
    app.state.audit = None
    app.state.worker = None
    app.state.queue = None
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AuditMiddleware, writer_of=lambda: app.state.audit)
    app.add_middleware(NoStoreMiddleware)
    for module_name in ROUTER_MODULES:
        module = importlib.import_module(module_name)
        app.include_router(module.router, prefix=getattr(module, "PREFIX", API_PREFIX))
    install_docs(app)
    return app
