"""Navigator exports of a plan and readers of navigator pose files.

Every pose inside navsvc is a SimNIBS ``matsimnibs`` 4x4 in NIfTI RAS world
coordinates, mm (z into the head, handle to -y); the per-format axis and space
conversions live in :mod:`navsvc.export.conventions` only.

>>> export = export_plan(plan, "localite", space="lps")      # doctest: +SKIP
>>> poses = read_poses(uploaded_bytes)                       # doctest: +SKIP
"""

from __future__ import annotations

from navsvc.errors import InputError
from navsvc.export.brainsight import read_brainsight, write_brainsight
from navsvc.export.conventions import SPACES, check_space
from navsvc.export.integrator_json import read_integrator_json, write_integrator_json
from navsvc.export.localite import read_localite, write_localite
from navsvc.export.poses import DELIVERED, PLANNED, READABLE_FILES, ExportFile, RecordedPose
from navsvc.export.poses import plan_export
from navsvc.export.simnibs import read_simnibs, write_simnibs

#: formats :func:`export_plan` writes
EXPORT_FORMATS = ("json", "localite", "brainsight", "simnibs")

_WRITERS = {
    "json": write_integrator_json,
    "localite": write_localite,
    "brainsight": write_brainsight,
    "simnibs": write_simnibs,
}

__all__ = [
    "DELIVERED", "EXPORT_FORMATS", "ExportFile", "PLANNED", "RecordedPose", "SPACES",
    "default_space", "export_plan", "read_brainsight", "read_integrator_json", "read_localite",
    "read_poses", "read_simnibs",
]


def default_space(plan: dict, fmt: str) -> str:
    """The world space a plan's navigator file is written in when none is asked for.

    ``"lps"`` (DICOM patient space) for a plan made from a DICOM series, since the clinic
    loads that series into the navigator; ``"ras"`` (the NIfTI world) for a plan made
    from a NIfTI file, and for ``simnibs``, which has no LPS mode.

    Parameters
    ----------
    plan : dict
        The engine's plan; uses ``input.format``.
    fmt : str
        One of :data:`EXPORT_FORMATS`.

    Returns
    -------
    str
        ``"ras"`` or ``"lps"``.
    """
    source = (plan.get("input") or {}).get("format") if isinstance(plan, dict) else None
    return "lps" if source == "dicom" and str(fmt).strip().lower() != "simnibs" else "ras"


def export_plan(plan: dict, fmt: str, space: str | None = None) -> ExportFile:
    """Export the coil poses of a plan in a navigator's file format.

    Parameters
    ----------
    plan : dict
        The engine's plan (``plan.json`` loaded with :func:`json.load`).
    fmt : str
        One of :data:`EXPORT_FORMATS`.
    space : str, optional
        World space of the file, ``"ras"`` (NIfTI) or ``"lps"`` (DICOM);
        ``simnibs`` accepts ``"ras"`` only. Default: :func:`default_space`.

    Returns
    -------
    ExportFile
        File name, media type and content of one downloadable file.

    Raises
    ------
    InputError
        Unknown format or space, or a plan without a valid coil pose.
    """
    key = str(fmt).strip().lower()
    if key not in _WRITERS:
        raise InputError(f"unknown export format {fmt!r}; valid values: "
                         f"{', '.join(EXPORT_FORMATS)}")
    space = check_space(default_space(plan, key) if space is None else space)
    return _WRITERS[key](plan_export(plan), space)


def sniff_format(data: bytes) -> str:
    """Name the format of a pose file: ``simnibs``, ``localite``, ``json`` or ``brainsight``."""
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InputError("pose file is empty")
    if data[:4] == b"PK\x03\x04" or data[:10] == b"MATLAB 5.0":
        return "simnibs"
    if data[:10] == b"MATLAB 7.3":  # an HDF5 file behind a MAT header, which scipy does not read
        raise InputError("a MATLAB 7.3 (HDF5) MAT-file, which navsvc does not read: save it again "
                         "in MATLAB with save(FILE, 'matsimnibs', '-v7')")
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "localite"
    if head.startswith(b"{"):
        return "json"
    if head.startswith(b"#") and (b"Coordinate system" in head or b"Version" in head):
        return "brainsight"
    raise InputError(f"unrecognised pose file: expected {READABLE_FILES}")


def read_poses(data: bytes) -> list[RecordedPose]:
    """Read the coil poses of any supported navigator file (format sniffed).

    Parameters
    ----------
    data : bytes
        File content: Localite Instrument/TriggerMarker XML, Brainsight text
        export, SimNIBS zip or MAT-file, or navsvc integrator JSON. ANT Neuro
        visor2 marker files (JSON) are recognised and refused: not read yet.

    Returns
    -------
    list of RecordedPose
        Poses in the SimNIBS convention, NIfTI RAS, mm.
    """
    readers = {"simnibs": read_simnibs, "localite": read_localite,
               "json": read_integrator_json, "brainsight": read_brainsight}
    return readers[sniff_format(data)](data)
