"""``navsvc admin``: database migrations, API tokens, backup and restore, storage check.

Reads the same ``NAVSVC_*`` settings as ``navsvc serve`` (data folder, database URL)
and applies pending migrations before any token operation. ``backup`` may run while
the service serves; it exits with 1 and one warning line when records lack their files
(the backup is written all the same). ``restore`` fills a new data folder and an empty
database; it refuses while ``navsvc serve`` or a worker runs on the data folder.
``check-storage`` only reads: a data folder or database that does not exist is an
error (exit 2), not a new instance.
"""

from __future__ import annotations

import argparse
import sys

from api.security import ROLES


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``admin`` sub-command and its actions."""
    parser = subparsers.add_parser("admin", help="migrate the database, manage API tokens",
                                   description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("migrate", help="apply pending database migrations")
    create = actions.add_parser("create-token", help="create a token (printed once)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="unique name, recorded in the audit trail")
    create.add_argument("--blinded", action="store_true",
                        help="hide treatment arms from this token (raters in sham trials)")
    revoke = actions.add_parser("revoke-token", help="revoke a token")
    revoke.add_argument("token", metavar="NAME_OR_ID")
    actions.add_parser("list-tokens", help="list tokens (never their secrets)")
    backup = actions.add_parser("backup", help="copy the database and the files its records "
                                               "name into a new folder (safe while serving; "
                                               "exit 1 if records lack their files)")
    backup.add_argument("out", metavar="OUT", help="new or empty folder for the backup")
    restore = actions.add_parser("restore", help="restore a backup into a new data folder "
                                                 "and an empty database (stop navsvc serve "
                                                 "and every worker first)")
    restore.add_argument("source", metavar="IN", help="folder written by 'admin backup'")
    check = actions.add_parser("check-storage", help="check that every image and plan record has its "
                                                     "files (exit 1 if not); list unreferenced files")
    check.add_argument("--no-checksums", action="store_true",
                       help="only check that the files exist (do not re-hash the images)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Carry out one admin action; returns the exit code."""
    from api.config import load_settings
    from api.db import Database
    from api.migrations import upgrade
    from api.storage import ensure_private_dir, make_files_private
    from api.tokens import create_token, list_tokens, revoke_token

    make_files_private()  # the database, backups and restored files hold patient data
    settings = load_settings()
    if args.action in ("backup", "restore"):
        return _backup_or_restore(args, settings)
    if args.action == "check-storage":
        return _check_storage(settings, verify_checksums=not args.no_checksums)
    ensure_private_dir(settings.data_dir)
    upgrade(settings.resolved_database_url)
    if args.action == "migrate":
        print("database is at the newest schema revision")
        return 0
    database = Database(settings.resolved_database_url)
    try:
        if args.action == "create-token":
            secret = create_token(database, args.name, args.role, args.blinded)
            print(secret)
        elif args.action == "revoke-token":
            token = revoke_token(database, args.token)
            print(f"revoked {token.name} ({token.id})")
        else:
            for token in list_tokens(database):
                state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
                blinded = " blinded" if token.blinded else ""
                print(f"{token.id}  {token.name}  {token.role}{blinded}  "
                      f"created {token.created_at:%Y-%m-%d %H:%M}  {state}")
    finally:
        database.dispose()
    return 0


def _backup_or_restore(args: argparse.Namespace, settings) -> int:
    from pathlib import Path

    from api.backup import backup
    from api.backup_manifest import missing_data_warning
    from api.restore import restore

    if args.action == "backup":
        manifest = backup(settings, Path(args.out))
        verb, where = "backed up", args.out
    else:
        manifest = restore(settings, Path(args.source))
        verb, where = "restored", settings.data_dir
    rows = sum(manifest["database"]["rows"].values())
    print(f"{verb} {rows} database rows and {len(manifest['files'])} files ({where})")
    warning = missing_data_warning(manifest)
    if warning is None:
        return 0
    print(f"navsvc: warning: {warning}", file=sys.stderr)
    # a nightly backup job must notice; the restore did all that the backup allows
    return 1 if args.action == "backup" else 0


def _check_storage(settings, verify_checksums: bool) -> int:
    from api.db import Database, reported_database_errors
    from api.integrity import check_storage, require_instance
    from api.storage import Storage

    require_instance(settings)  # a check creates nothing: not the data folder, not the database
    database = Database(settings.resolved_database_url)
    try:
        with reported_database_errors(settings.resolved_database_url):
            report = check_storage(database, Storage(settings.data_dir), verify_checksums)
    finally:
        database.dispose()
    print("\n".join(report.lines()))
    return 0 if report.ok else 1
