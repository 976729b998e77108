"""10-05 electrode positions on the Colin27 head, read from MNE-Python's package data.

MNE ships ``colin27_1005.elc`` (ASA format, mm, on the Colin27 scalp -- the same head as
our ``atlases/colin27_head.nii.gz``); its values equal the ``standard_1005`` montage
quoted in docs/DESIGN.md §5 (e.g. F3 = (-50.24, 53.11, 42.19)). Reading the file directly
avoids importing all of MNE.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

MONTAGE_FILE = "colin27_1005.elc"
#: landmark name in the plan -> label in the montage file
LANDMARK_LABELS = {
    "nasion": "Nz", "inion": "Iz", "lpa": "LPA", "rpa": "RPA", "cz": "Cz", "fpz": "Fpz",
    "fz": "Fz", "f3": "F3", "f4": "F4", "f1": "F1", "f5": "F5", "f7": "F7", "af3": "AF3",
    "fc3": "FC3", "c3": "C3", "t7": "T7", "t8": "T8", "oz": "Oz",
}


def montage_path() -> Path:
    """Path of the 10-05 montage file inside the installed MNE package."""
    spec = importlib.util.find_spec("mne")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("MNE-Python is not installed: it provides the 10-05 montage")
    return Path(spec.submodule_search_locations[0]) / "channels" / "data" / "montages" / MONTAGE_FILE


@lru_cache(maxsize=1)
def colin27_positions_mm() -> dict[str, np.ndarray]:
    """All 10-05 labels -> position on the Colin27 head (RAS mm)."""
    lines = [ln.strip() for ln in montage_path().read_text().splitlines()]
    n = int(next(ln for ln in lines if ln.startswith("NumberPositions")).split("=")[1])
    start = lines.index("Positions") + 1
    coords = np.array([[float(v) for v in ln.split()] for ln in lines[start:start + n]])
    labels_at = lines.index("Labels") + 1
    labels = lines[labels_at:labels_at + n]
    return dict(zip(labels, coords))


def landmark_positions_colin_mm() -> dict[str, np.ndarray]:
    """The plan's landmark names -> Colin27 position (RAS mm)."""
    positions = colin27_positions_mm()
    return {name: positions[label] for name, label in LANDMARK_LABELS.items()}
