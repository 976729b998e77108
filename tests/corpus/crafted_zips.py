"""Zip archives crafted byte by byte: lying member headers and decompression bombs
(PKWARE APPNOTE 4.3.7 field layout)."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path


def patch_zip_sizes(path: Path, member: str, *, file_size: int | None = None,
                     flag_bits: int | None = None, method: int | None = None) -> None:
    """Overwrite a member's declared sizes / flags / method in both its local and central headers."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    # central directory entry: signature PK\1\2, name at offset 46
    cen = raw.find(b"PK\x01\x02")
    while cen >= 0:
        name_len = struct.unpack_from("<H", raw, cen + 28)[0]
        if bytes(raw[cen + 46 : cen + 46 + name_len]) == name:
            local = struct.unpack_from("<I", raw, cen + 42)[0]
            if file_size is not None:
                struct.pack_into("<I", raw, cen + 24, file_size)
                struct.pack_into("<I", raw, local + 22, file_size)
            if flag_bits is not None:
                struct.pack_into("<H", raw, cen + 8, flag_bits)
                struct.pack_into("<H", raw, local + 6, flag_bits)
            if method is not None:
                struct.pack_into("<H", raw, cen + 10, method)
                struct.pack_into("<H", raw, local + 8, method)
        cen = raw.find(b"PK\x01\x02", cen + 4)
    path.write_bytes(bytes(raw))


def deflate_bomb_zip(path: Path, name: str, n_bytes: int, declared: int) -> Path:
    """A one-member zip whose deflate stream expands to ``n_bytes`` zeros but declares ``declared``.

    The stream is built in O(compressed size): a block of zeros compressed with a full
    flush (byte-aligned, no back-references into earlier data, RFC 1951) is repeated,
    then a final empty block ends it. The CRC is that of the real content, as a bomb's
    author would write it.
    """
    block = 16 * 2**20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = chunk * (n_bytes // block) + b"\x03\x00"
    crc = 0
    for _ in range(n_bytes // block):
        crc = zlib.crc32(bytes(block), crc)
    encoded = name.encode()
    # version, flags, method (8 = deflate), time, date, CRC-32, sizes (PKWARE APPNOTE 4.3.7)
    fields = struct.pack("<HHHHIII", 0, 8, 0, 0, crc, len(stream), declared)
    local = b"PK\x03\x04" + struct.pack("<H", 20) + fields + struct.pack("<HH", len(encoded), 0) + encoded
    central = (b"PK\x01\x02" + struct.pack("<HH", 20, 20) + fields
               + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, 0) + encoded)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + len(stream), 0)
    path.write_bytes(local + stream + central + end)
    return path


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """Zip every file below ``folder`` (names relative to it) into ``zip_path``."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                archive.write(f, f.relative_to(folder).as_posix())
    return zip_path
