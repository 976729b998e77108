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
