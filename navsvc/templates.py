"""Paths of the templates and atlases the pipeline uses (all shipped or from packages).

Nothing here downloads: the ICBM 2009a symmetric template and its grey-matter map
come from nilearn's package data, the Colin27 head and the Brodmann atlas from
``atlases/`` (see ``atlases/README.md`` for sources and licences).
"""

from __future__ import annotations

from pathlib import Path

import nilearn

_NILEARN_DATA = Path(nilearn.__file__).parent / "datasets" / "data"
_ATLASES = Path(__file__).resolve().parent.parent / "atlases"

#: ICBM 2009a nonlinear symmetric T1 (brain only, 1 mm) -- the "MNI" of every reported mni_mm
ICBM_T1 = _NILEARN_DATA / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
ICBM_GM = _NILEARN_DATA / "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"
ICBM_WM = _NILEARN_DATA / "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"
ICBM_NAME = "ICBM 2009a nonlinear symmetric (MNI152, nilearn package copy)"

#: Colin27 full-head T1 (MNI305-aligned), for the initial head-to-head alignment
COLIN_HEAD = _ATLASES / "colin27_head.nii.gz"
COLIN_BRAIN_MASK = _ATLASES / "colin27_brain_mask.nii.gz"
#: Brodmann areas on the Colin27 grid (MRIcron); left DLPFC = BA 9 + BA 46, x < 0
BRODMANN_COLIN = _ATLASES / "brodmann_colin27.nii.gz"
DLPFC_BRODMANN_AREAS = (9, 46)


def require(path: Path) -> Path:
    """Return ``path`` or raise a clear error naming the missing data file."""
    if not path.exists():
        raise FileNotFoundError(
            f"navsvc data file missing: {path}. Reinstall navsvc (atlases/) or nilearn."
        )
    return path
