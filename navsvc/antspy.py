"""ANTsPy for the engine: the package without the parts of it the engine never calls.

``import ants`` runs antspyx's ``__init__``, which imports every part of the package,
among them its statistics, learning and plotting code and with it scikit-learn,
statsmodels and matplotlib: 2.2-2.7 s of a plan's start here (``python -X importtime``,
antspyx 0.6.3), paid again by the SyN stage's process. The engine uses the image, transform,
image-operation, registration and utility parts only, which load in 0.6-0.8 s. :data:`ants` is the real
``ants`` package module with those parts loaded and their names in it, as ``import ants``
would have put them. The first use of any other name loads the rest of the package the
way ``import ants`` does, so every ANTsPy name works, only later.

Use ``from navsvc.antspy import ants`` instead of ``import ants``. A process that imported
``ants`` in full before gets that module unchanged.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
from types import ModuleType

from navsvc.config import ITK_THREADS_VARIABLE, engine_settings

#: the parts of antspyx the engine calls (images and transforms, registration, resampling
#: and smoothing, the deterministic switch)
ENGINE_PARTS = ("core", "ops", "registration", "utils", "config")


def _public_names(module: ModuleType) -> list[str]:
    """The names ``from module import *`` binds."""
    names = getattr(module, "__all__", None)
    return list(names) if names is not None else [name for name in vars(module) if not name.startswith("_")]


def _load_engine_parts() -> ModuleType:
    spec = importlib.util.find_spec("ants")
    if spec is None or spec.loader is None:
        raise ImportError("antspyx is not installed: install navsvc's dependencies (pip install -e .)")
    package = importlib.util.module_from_spec(spec)
    sys.modules["ants"] = package
    try:
        for part in ENGINE_PARTS:
            module = importlib.import_module(f"ants.{part}")
            for name in _public_names(module):
                setattr(package, name, getattr(module, name))
    except BaseException:
        for name in [name for name in sys.modules if name == "ants" or name.startswith("ants.")]:
            del sys.modules[name]
        raise
    rest = {"loaded": False}
    lock = threading.RLock()

    def load_all() -> None:
        # Runs antspyx's own __init__ in the package (once; other threads wait for it), which
        # adds every name ``import ants`` would have.
        with lock:
            if not rest["loaded"]:
                rest["loaded"] = True
                spec.loader.exec_module(package)

    def load_rest(name: str) -> object:
        # PEP 562: called only for a name not in the package. Dunder look-ups (copy, pickle,
        # inspection) load nothing.
        if name.startswith("__"):
            raise AttributeError(f"module 'ants' has no attribute {name!r}")
        load_all()
        if name not in vars(package):
            raise AttributeError(f"module 'ants' has no attribute {name!r}")
        return vars(package)[name]

    try:
        package.__version__ = importlib.metadata.version("antspyx")  # what its __init__ sets
    except importlib.metadata.PackageNotFoundError:
        # a copy installed without its package metadata: its __init__ sets the version
        load_all()
    package.__getattr__ = load_rest
    return package


def _ants() -> ModuleType:
    # ITK reads its thread count from the environment when it starts: set it before.
    os.environ.setdefault(ITK_THREADS_VARIABLE, str(engine_settings().threads))
    loaded = sys.modules.get("ants")
    return loaded if loaded is not None else _load_engine_parts()


ants = _ants()
