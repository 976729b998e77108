"""``navsvc serve``: run the clinic REST service (API, docs page, embedded job worker)."""

from __future__ import annotations

import argparse

from navsvc.errors import InputError


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve", help="run the REST service",
        description="Run the REST service. Settings come from NAVSVC_* variables: "
                    "NAVSVC_DATA_DIR (./navsvc-data), NAVSVC_DATABASE_URL (SQLite in the "
                    "data folder), NAVSVC_MAX_UPLOAD_MB (1024), NAVSVC_WORKERS (1), "
                    "NAVSVC_API_WORKERS (1), NAVSVC_LOG_LEVEL (INFO).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="API processes sharing the port (default NAVSVC_API_WORKERS, "
                             "1); about one per CPU core")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    from api.config import load_settings
    from api.serving import configure_logging, serve

    settings = load_settings()
    configure_logging(settings.log_level)
    workers = settings.api_workers if args.workers is None else args.workers
    if workers < 1:
        raise InputError(f"--workers {workers}: give at least 1 (one process per core is usual)")
    serve(settings, args.host, args.port, workers)
    return 0
