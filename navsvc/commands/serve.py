"""``navsvc serve``: run the clinic REST service (API, docs page, embedded job worker)."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve", help="run the REST service",
        description="Run the REST service. Settings come from NAVSVC_* variables: "
                    "NAVSVC_DATA_DIR (./navsvc-data), NAVSVC_DATABASE_URL (SQLite in the "
                    "data folder), NAVSVC_MAX_UPLOAD_MB (1024), NAVSVC_WORKERS (1), "
                    "NAVSVC_LOG_LEVEL (INFO).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    import logging

    import uvicorn

    from api.app import create_app
    from api.config import Settings

    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower(),
                access_log=settings.log_level.upper() == "DEBUG")
    return 0
