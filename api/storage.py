"""Files under the data folder: content-addressed images, plan results, upload spool."""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import shutil
import stat
import time
import uuid
from pathlib import Path

from navsvc.files import fsync_path

log = logging.getLogger("navsvc.api")

#: read/write block size for hashing and copying, bytes
CHUNK_BYTES = 1024 * 1024

#: umask of the service's processes: what they create (patient data) is theirs alone,
#: files 0600 and folders 0700
SERVICE_UMASK = 0o077

#: age after which a spool entry belongs to no running upload (a day: far longer than the
#: largest upload takes on a slow link), seconds
STALE_SPOOL_S = 24 * 3600


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def make_files_private() -> None:
    """Make the files and folders this process and its children create private.

    Sets the process umask to :data:`SERVICE_UMASK` whatever the umask of the shell
    that started the service. Call it once at the start of a service process, before
    it starts threads or children (they inherit it).
    """
    os.umask(SERVICE_UMASK)


def ensure_private_dir(folder: Path) -> None:
    """Create ``folder`` (mode 0700), or make an existing one 0700.

    Tightening an existing folder is logged; failing to (e.g. it belongs to another
    user) is logged as a warning, not raised.

    Parameters
    ----------
    folder : Path
        The folder; missing parents are created as well.
    """
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(folder, 0o700)
    except OSError as exc:
        log.warning("%s is accessible to other users (mode %04o) and could not be made "
                    "private: %s", folder, mode, exc)
        return
    log.info("%s was accessible to other users (mode %04o); made it private (0700)",
             folder, mode)


class Storage:
    """The data folder layout.

    Parameters
    ----------
    data_dir : Path
        Root of the service's files; ``images/``, ``plans/`` and ``tmp/`` live below it.
        Every path stored in the database is relative to it, so the folder can move.
    """

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir).resolve()
        self.images_dir = self.root / "images"
        self.plans_dir = self.root / "plans"
        self.tmp_dir = self.root / "tmp"

    def ensure(self) -> None:
        """Create the folders if they do not exist; the data folder is made private.

        Spool entries older than :data:`STALE_SPOOL_S` are deleted: a process killed
        during an upload leaves its raw (not yet de-identified) file there. In-flight
        uploads of other service processes are younger.
        """
        ensure_private_dir(self.root)
        for folder in (self.images_dir, self.plans_dir, self.tmp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - STALE_SPOOL_S
        for entry in self.tmp_dir.iterdir():
            try:
                if entry.lstat().st_mtime >= cutoff:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except FileNotFoundError:  # another service process removed it first
                continue
            except OSError as exc:
                log.warning("could not remove the stale spool entry %s: %s", entry.name, exc)
                continue
            log.info("removed the stale spool entry %s", entry.name)

    def temp_path(self, suffix: str = "") -> Path:
        """Return a fresh path in the spool folder (same file system as the store)."""
        return self.tmp_dir / f"{uuid.uuid4().hex}{suffix}"

    def store_image(self, source: Path, sha256: str, suffix: str) -> str:
        """Move ``source`` into the content-addressed store and return its relative path.

        Parameters
        ----------
        source : Path
            File to move (it is consumed).
        sha256 : str
            Hex SHA-256 of its bytes; the file is stored as ``images/ab/<sha256><suffix>``.
        suffix : str
            File name suffix (``.nii``, ``.nii.gz``, ``.zip``).
        """
        target = self.images_dir / sha256[:2] / f"{sha256}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            source.unlink()
        else:
            # On the disk, bytes and name, before the image's record is committed (durably):
            # after a power cut a record never points at a missing or empty file.
            fsync_path(source)
            os.replace(source, target)
            fsync_path(target.parent)
            fsync_path(self.images_dir)  # the entry of a new sha256[:2] folder
        return str(target.relative_to(self.root))

    def run_path(self, job_id: str, attempt: int) -> Path:
        """Return the result folder of attempt ``attempt`` of job ``job_id``.

        Each attempt (start) of a job writes into its own folder,
        ``plans/<job_id>.attempt-<n>``, so a run that lost its claim never writes
        into the folder of the run whose plan is stored.

        Parameters
        ----------
        job_id : str
            The job.
        attempt : int
            Number of the attempt, 1 for the job's first start
            (:attr:`api.jobs.claims.Holder.attempt`).

        Returns
        -------
        Path
            ``<data folder>/plans/<job_id>.attempt-<attempt>``, absolute; it need not exist.
        """
        return self.plans_dir / f"{job_id}.attempt-{attempt}"

    def run_dir(self, job_id: str, attempt: int) -> Path:
        """Return :meth:`run_path` of the attempt, created.

        Parameters
        ----------
        job_id : str
            The job.
        attempt : int
            Number of the attempt, 1 for the job's first start.

        Returns
        -------
        Path
            The folder, absolute; it exists (created with its parents when missing).
        """
        folder = self.run_path(job_id, attempt)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def job_dirs(self, job_id: str) -> list[Path]:
        """Return the existing result folders of every attempt of job ``job_id``.

        Includes ``plans/<job_id>``, the one folder per job of earlier versions.
        """
        legacy = self.plans_dir / job_id
        attempts = self.plans_dir.glob(f"{glob.escape(job_id)}.attempt-*")
        return [legacy, *attempts] if legacy.exists() else list(attempts)

    def absolute(self, relative: str) -> Path:
        """Return the absolute path of a path stored relative to the data folder."""
        return self.root / relative

    def relative(self, path: Path) -> str:
        """Return ``path`` relative to the data folder, as stored in the database."""
        return str(Path(path).resolve().relative_to(self.root))
