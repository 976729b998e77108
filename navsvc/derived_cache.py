"""Data computed from the shipped templates alone, kept on disk between processes.

An entry's name is a hash of what makes it: the templates' bytes, the source code of the
functions that compute it, and the settings and library versions the caller names. (An
entry keyed on file paths and times was reused after the code changed, and a new
checkout of the same files made a new one.) Entries live in the engine's cache folder
(``NAVSVC_CACHE_DIR``) and are written atomically, so processes that fill the same entry
at once never read half a file; a cache that cannot be written only costs time.
"""

from __future__ import annotations

import hashlib
import inspect
import io
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from navsvc import __version__, templates
from navsvc.config import engine_settings
from navsvc.files import write_atomically


def entry_key(prefix: str, sources: Iterable[Path], functions: Iterable[Callable], settings: str) -> str:
    """Name of a cache entry: ``prefix`` and a hash of everything that makes its data.

    Parameters
    ----------
    prefix : str
        What the entry holds (readable part of the name).
    sources : iterable of Path
        Shipped files the data is computed from (their bytes count, not their names).
    functions : iterable of callable
        The code that computes the data (its source counts; a frozen build without
        source files counts the function's name and navsvc's version instead).
    settings : str
        Everything else the data depends on: constants, library versions.
    """
    key = hashlib.sha256()
    for source in sources:
        key.update(hashlib.sha256(templates.require(source).read_bytes()).digest())  # 7 ms a template
    for function in functions:
        try:
            key.update(inspect.getsource(function).encode())
        except (OSError, TypeError):
            key.update(f"{function.__qualname__} {__version__}".encode())
    key.update(settings.encode())
    return f"{prefix}-{key.hexdigest()[:16]}"


def cache_folder(key: str) -> Path:
    """The folder of the entry ``key`` (not created)."""
    return engine_settings().cache_dir / key


def cached_arrays(key: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of the entry ``key``: read from the cache, or computed and stored there.

    Parameters
    ----------
    key : str
        The entry's name (:func:`entry_key`).
    compute : callable
        Returns the arrays by name, when the cache does not hold them.
    """
    path = cache_folder(key) / "arrays.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    arrays = compute()
    content = io.BytesIO()
    np.savez(content, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, content.getvalue())
    except OSError:
        pass  # a read-only cache only costs time
    return arrays
