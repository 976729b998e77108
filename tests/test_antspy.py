"""The engine's ANTsPy: its parts only, every name still reachable (navsvc.antspy)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import navsvc

#: modules that the parts of antspyx the engine skips import, and nothing else does
SKIPPED_MODULES = ("sklearn", "statsmodels", "ants.learn", "ants.plotting", "ants.deeplearn")


def _in_fresh_process(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object, returned here."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _loaded(names: tuple[str, ...] = SKIPPED_MODULES) -> str:
    return f"[name for name in {names!r} if name in sys.modules]"


def test_the_engine_modules_leave_the_unused_parts_of_antspyx_unloaded():
    result = _in_fresh_process(
        "import json, sys\n"
        "import navsvc.cli, navsvc.pipeline, navsvc.syn_process, navsvc.registration\n"
        f"print(json.dumps({{'loaded': {_loaded()}}}))")
    assert result["loaded"] == []


def test_every_ants_name_the_engine_uses_is_in_its_parts():
    used = set()
    for source in Path(navsvc.__file__).parent.rglob("*.py"):
        used |= set(re.findall(r"\bants\.([A-Za-z_]\w*)", source.read_text()))
    result = _in_fresh_process(
        "import json, sys\n"
        "from navsvc.antspy import ants\n"
        f"names = {sorted(used)!r}\n"
        "print(json.dumps({'missing': [n for n in names if n not in vars(ants)],\n"
        f"                 'loaded': {_loaded()}}}))")
    assert result == {"missing": [], "loaded": []}


def test_a_name_outside_the_parts_loads_the_rest_as_import_ants_would():
    result = _in_fresh_process(
        "import importlib.metadata, json, sys\n"
        "from navsvc.antspy import ants\n"
        "before = " + _loaded() + "\n"
        "eig_seg = ants.eig_seg\n"
        "from ants.learn.decomposition import eig_seg as defined\n"
        "same = eig_seg is defined\n"
        "try:\n"
        "    ants.no_such_name\n"
        "    missing = 'found'\n"
        "except AttributeError as exc:\n"
        "    missing = str(exc)\n"
        "print(json.dumps({'before': before, 'same': same, 'after': " + _loaded(("sklearn", "ants.plotting")) + ",\n"
        "                  'missing': missing, 'registration': ants.registration.__module__,\n"
        "                  'version': ants.__version__ == importlib.metadata.version('antspyx')}))")
    assert result == {"before": [], "same": True, "after": ["sklearn", "ants.plotting"],
                      "missing": "module 'ants' has no attribute 'no_such_name'",
                      "registration": "ants.registration.registration", "version": True}


def test_dunder_look_ups_load_nothing():
    result = _in_fresh_process(
        "import copy, json, sys\n"
        "from navsvc.antspy import ants\n"
        "wrapped = hasattr(ants, '__wrapped__')\n"
        "copy.copy(ants.from_numpy)\n"
        f"print(json.dumps({{'wrapped': wrapped, 'loaded': {_loaded()}}}))")
    assert result == {"wrapped": False, "loaded": []}


def test_an_ants_imported_in_full_before_is_used_unchanged():
    result = _in_fresh_process(
        "import json, sys\n"
        "import ants as full\n"
        "from navsvc.antspy import ants\n"
        "print(json.dumps({'same': ants is full, 'has_plot': hasattr(full, 'plot')}))")
    assert result == {"same": True, "has_plot": True}


def test_the_itk_thread_count_is_set_before_itk_starts():
    result = _in_fresh_process(
        "import json, os\n"
        "os.environ.pop('ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS', None)\n"
        "os.environ['NAVSVC_THREADS'] = '1'\n"
        "from navsvc.antspy import ants\n"
        "print(json.dumps({'threads': os.environ.get('ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS')}))")
    assert result == {"threads": "1"}


def test_threads_that_need_the_rest_at_once_all_get_it():
    result = _in_fresh_process(
        "import json, threading\n"
        "from navsvc.antspy import ants\n"
        "found = []\n"
        "def look_up():\n"
        "    try:\n"
        "        found.append(ants.eig_seg.__name__)\n"
        "    except AttributeError as exc:\n"
        "        found.append(str(exc))\n"
        "threads = [threading.Thread(target=look_up) for _ in range(4)]\n"
        "for thread in threads:\n"
        "    thread.start()\n"
        "for thread in threads:\n"
        "    thread.join()\n"
        "print(json.dumps({'found': found}))")
    assert result == {"found": ["eig_seg"] * 4}


def test_an_antspyx_without_package_metadata_is_loaded_in_full_with_its_version():
    result = _in_fresh_process(
        "import importlib.metadata, json, sys\n"
        "real_version = importlib.metadata.version\n"
        "def version(name):\n"
        "    if name == 'antspyx':\n"
        "        raise importlib.metadata.PackageNotFoundError(name)\n"
        "    return real_version(name)\n"
        "importlib.metadata.version = version\n"
        "from navsvc.antspy import ants\n"
        "print(json.dumps({'version': ants.__version__, 'has_plot': 'plot' in vars(ants),\n"
        "                  'sklearn': 'sklearn' in sys.modules}))")
    assert result["version"] == __import__("importlib.metadata").metadata.version("antspyx")
    assert result["has_plot"] and result["sklearn"]
