"""How this process asks the kernel for memory: small pages for numpy's large arrays.

numpy asks Linux for transparent huge pages (2 MB, ``madvise``) for every array of 4 MB
or more. On a virtual machine that hands its free memory back to the host (virtio-balloon
free page reporting), a huge page is a whole 2 MB block that the host must back again at
first touch. Measured on this project's 2-core VM: filling a fresh 1 GiB array took
8.6-13.7 s with huge pages and 1.1-1.2 s without, and a whole plan of a 256³ head took
31.6 and 33.4 s against 21.6 and 24.7 s (two runs each, alternated; the load stage
6.1-6.6 s against 1.6-1.9 s). Compute on arrays already touched was no faster with huge
pages (user CPU 26.5-28.0 s against 24.4-27.5 s per plan), so small pages are the default.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: numpy's own switch, read when numpy is imported (https://numpy.org/doc/stable/reference/global_state.html)
NUMPY_HUGE_PAGES_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"


def prefer_small_pages() -> bool:
    """Make numpy use small pages in this process and the processes it starts, unless
    ``NUMPY_MADVISE_HUGEPAGE`` was set by whoever started it (that choice is kept).

    Returns
    -------
    bool
        Whether numpy asks for huge pages from now on.
    """
    wanted = os.environ.setdefault(NUMPY_HUGE_PAGES_VARIABLE, "0") == "1"
    if "numpy" in sys.modules:
        # numpy read the variable before it was set here (it was imported first); its
        # switch for a running process is not public, so a numpy without it keeps its choice
        from numpy._core import multiarray

        toggle = getattr(multiarray, "_set_madvise_hugepage", None)
        if toggle is not None:
            toggle(wanted)
    return wanted


#: glibc's mallopt parameters (<malloc.h>)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: bytes of free memory glibc may keep at the top of its heap (its largest int)
_KEEP_ALL_BYTES = 2**31 - 1


def reuse_freed_memory() -> bool:
    """Make this process's allocator keep the memory it frees for its next allocations.

    glibc serves every block of 32 MB or more (a 256³ float32 volume is 64 MB) with a fresh
    ``mmap`` and unmaps it when freed, so each temporary volume of a plan costs the kernel
    one page fault per 4 kB page (a plan of the 256³ head made 600 000 minor page faults,
    2.7-2.9 s of system time in all its processes). Here large blocks come from the heap,
    and freed memory stays there for the next volume: 267 000 page faults, 1.6-1.8 s.

    For processes that run one plan and end (``navsvc plan`` and ``demo``, a plan job's own
    process, the SyN and figure processes): the memory of the largest plan is kept until
    the process exits. A long-lived process (a Celery pool process) should not call it.

    Returns
    -------
    bool
        Whether the allocator took the settings (False off glibc: nothing changes).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): its own policy stays
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_ALL_BYTES))
