"""The archive limits of :func:`navsvc.io.zip_members.checked_members` at their boundaries.

The checks read only the archive's directory (member names, flags, methods, declared sizes),
so the members here are directory entries with declared sizes: no gigabytes are written.
The bad-input corpus holds real archives past each limit.
"""

from __future__ import annotations

import zipfile

import pytest

from navsvc.errors import InputError
from navsvc.io import limits
from navsvc.io.zip_members import checked_members


class _Directory:
    """An archive as checked_members sees it: its list of members."""

    def __init__(self, sizes_bytes, names=None):
        self.members = []
        for index, size in enumerate(sizes_bytes):
            member = zipfile.ZipInfo(names[index] if names else f"IM{index:05d}.dcm")
            member.file_size, member.compress_type = size, zipfile.ZIP_DEFLATED
            self.members.append(member)

    def infolist(self):
        return self.members


def test_the_member_count_limit_is_inclusive():
    assert len(checked_members(_Directory([10] * limits.MAX_ARCHIVE_MEMBERS), "study.zip")) == 20_000
    with pytest.raises(InputError, match=r"^study\.zip holds 20,001 files; at most 20,000$"):
        checked_members(_Directory([10] * (limits.MAX_ARCHIVE_MEMBERS + 1)), "study.zip")


def test_the_unpacked_size_limit_is_inclusive():
    """Seven files of the largest accepted size and one of the rest make exactly 4 GiB."""
    largest = limits.MAX_DICOM_FILE_BYTES
    sizes = [largest] * 7 + [limits.MAX_ARCHIVE_BYTES - 7 * largest]
    assert sum(sizes) == limits.MAX_ARCHIVE_BYTES and max(sizes) == largest
    assert len(checked_members(_Directory(sizes), "study.zip")) == 8
    sizes[-1] += 1
    with pytest.raises(InputError, match=r"would unpack to 4.0 GiB \(limit 4 GiB\)"):
        checked_members(_Directory(sizes), "study.zip")


def test_the_single_file_limit_is_inclusive():
    largest = limits.MAX_DICOM_FILE_BYTES
    checked_members(_Directory([largest]), "study.zip")
    with pytest.raises(InputError, match=r"member 'IM00000.dcm' would unpack to 528 MiB, more than one DICOM "
                                         r"file of a T1 holds \(limit 528 MiB\)"):
        checked_members(_Directory([largest + 1]), "study.zip")


def test_folders_are_not_members():
    directory = _Directory([10, 10])
    directory.members.append(zipfile.ZipInfo("series/"))
    assert [m.filename for m in checked_members(directory, "study.zip")] == ["IM00000.dcm", "IM00001.dcm"]


@pytest.mark.parametrize("name", ["..\\..\\Windows\\evil.dcm", "series\\..\\..\\evil.dcm", "../evil.dcm",
                                  "/etc/evil.dcm"])
def test_a_traversal_name_is_refused_with_either_slash(name):
    """Windows archivers write backslashes: '..' is a path part with either separator."""
    with pytest.raises(InputError, match=r"contains an unsafe path '.*evil\.dcm': refused"):
        checked_members(_Directory([10, 10], ["IM00000.dcm", name]), "study.zip")
    checked_members(_Directory([10], ["series\\IM00001.dcm"]), "study.zip")  # a backslash alone is no traversal
