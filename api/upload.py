"""Streaming multipart upload: the file part goes to disk as it arrives.

The size limit is enforced while streaming, so an oversized upload is refused after
at most the limit has been read, and nothing is held in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.exceptions import HTTPException
from python_multipart.multipart import MultipartParser, parse_options_header

from api.problems import ProblemError
from navsvc.errors import shown_text

#: allowance for multipart boundaries and part headers on top of the file size, bytes
MULTIPART_OVERHEAD_BYTES = 64 * 1024
#: longest multipart boundary, characters (RFC 2046 §5.1.1: 1 to 70)
MAX_BOUNDARY_BYTES = 70

#: accepted file name endings and the suffix the stored file keeps
SUFFIXES = (".nii.gz", ".nii", ".zip")


@dataclass(frozen=True)
class UploadedFile:
    """A file received from a multipart request."""

    path: Path
    suffix: str
    sha256: str
    size_bytes: int
    #: the file name the client gave (control characters replaced, cut to 80 characters), for its messages
    filename: str


def suffix_of(filename: str) -> str:
    """Return the accepted suffix of ``filename`` or raise a 422 problem."""
    lower = filename.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    raise ProblemError(422, "the file must be a NIfTI image (.nii, .nii.gz) or a DICOM "
                            "series as a .zip")


class _FilePartSink:
    """Multipart callbacks that write the part named ``field`` to ``path``."""

    def __init__(self, field: str, path: Path, max_bytes: int) -> None:
        self.field, self.path, self.max_bytes = field, path, max_bytes
        self.headers: dict[bytes, bytes] = {}
        self._name = self._value = b""
        self._handle = None
        self.filename: str | None = None
        self.size_bytes = 0
        self.digest = hashlib.sha256()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda d, s, e: self._extend("_name", d[s:e]),
            "on_header_value": lambda d, s, e: self._extend("_value", d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def _extend(self, attribute: str, data: bytes) -> None:
        setattr(self, attribute, getattr(self, attribute) + data)

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_end(self) -> None:
        self.headers[self._name.lower()] = self._value
        self._name = self._value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        if params.get(b"name", b"").decode("utf-8", "replace") != self.field:
            return
        if self._handle is not None or self.filename is not None:
            raise ProblemError(422, f"send exactly one '{self.field}' part")
        self.filename = params.get(b"filename", b"").decode("utf-8", "replace")
        self._handle = open(self.path, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is None:
            return
        self.size_bytes += end - start
        if self.size_bytes > self.max_bytes:
            raise ProblemError(413, f"the upload exceeds the limit of "
                                    f"{self.max_bytes // (1024 * 1024)} MiB (NAVSVC_MAX_UPLOAD_MB)")
        chunk = data[start:end]
        self.digest.update(chunk)
        self._handle.write(chunk)

    def on_part_end(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def close(self) -> None:
        self.on_part_end()


async def receive_file(request: Request, spool_path: Path, max_bytes: int,
                       field: str = "file") -> UploadedFile:
    """Stream the multipart part ``field`` of ``request`` into ``spool_path``.

    Parameters
    ----------
    request : Request
        A ``multipart/form-data`` request.
    spool_path : Path
        Where to write the file (the caller removes it).
    max_bytes : int
        Largest accepted file, bytes.
    field : str
        Name of the form field holding the file.

    Raises
    ------
    ProblemError
        413 when too large, 415 when not multipart, 422 when the file part is missing
        or its name has an unsupported suffix.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ProblemError(415, f"send the image as multipart/form-data with a '{field}' part")
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise ProblemError(413, f"the upload exceeds the limit of "
                                f"{max_bytes // (1024 * 1024)} MiB (NAVSVC_MAX_UPLOAD_MB)")
    if len(boundary) > MAX_BOUNDARY_BYTES:
        raise ProblemError(422, f"the multipart boundary is {len(boundary)} characters long; at most "
                                f"{MAX_BOUNDARY_BYTES} are allowed (RFC 2046)")
    sink = _FilePartSink(field, spool_path, max_bytes)
    try:
        parser = MultipartParser(boundary, sink.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (ProblemError, HTTPException):  # HTTPException: the body limit (api.body_limit)
        raise
    except Exception as exc:  # the multipart parser's own errors: malformed body
        raise ProblemError(422, f"malformed multipart body ({type(exc).__name__}: "
                                f"{shown_text(str(exc), limit=120)}): send the image as one 'file' part "
                                "of a multipart/form-data body") from exc
    finally:
        sink.close()
    if sink.filename is None:
        raise ProblemError(422, f"the multipart body has no '{field}' part with a file")
    return UploadedFile(spool_path, suffix_of(sink.filename), sink.digest.hexdigest(),
                        sink.size_bytes, shown_text(sink.filename, limit=80))
