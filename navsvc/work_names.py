"""Names of work files and folders that say which process on which host made them.

A process killed by SIGKILL, the OOM killer or a power cut leaves its work files behind
(a plan's scratch folder, an export's temporary file). Each is named
``<prefix><host>@<pid>-<random><suffix>``, so the next process writing into the same
folder on the same host can tell those whose process has ended and remove them, and
leaves alone those of live processes and of other hosts sharing the folder. A host name
cannot hold ``@`` (RFC 1123 allows letters, digits, hyphens and dots), so host ``worker``
never reads ``worker-7@12-...`` of host ``worker-7`` as its own.
"""

from __future__ import annotations

import os
import socket

#: between host and pid: no host name holds it
_HOST_END = "@"


def work_name_prefix(prefix: str, host: str, pid: int) -> str:
    """``<prefix><host>@<pid>-``: the start of the work names of process ``pid`` on ``host``.

    Parameters
    ----------
    prefix : str
        The work names' own prefix (before the host).
    host : str
        The host name, as :func:`socket.gethostname` gives it.
    pid : int
        The process id on that host.

    Returns
    -------
    str
        The prefix, host, ``@``, pid and ``-``; a work name continues with its random part.
    """
    return f"{prefix}{host}{_HOST_END}{pid}-"


def own_work_name_prefix(prefix: str) -> str:
    """The start of this process's work names (see :func:`work_name_prefix`)."""
    return work_name_prefix(prefix, socket.gethostname(), os.getpid())


def made_by_ended_process(name: str, prefix: str) -> bool:
    """Whether ``name`` is a work name of ``prefix`` made on this host by a process that
    has ended.

    Parameters
    ----------
    name : str
        A file or folder name.
    prefix : str
        The work names' own prefix (before the host).

    Returns
    -------
    bool
        False for this process's names, a live process's, another host's, and names
        not made by :func:`own_work_name_prefix`.
    """
    host_prefix = f"{prefix}{socket.gethostname()}{_HOST_END}"
    if not name.startswith(host_prefix):
        return False
    pid_text, dash, _rest = name[len(host_prefix):].partition("-")
    if not (dash and pid_text.isascii() and pid_text.isdigit()):
        return False
    pid = int(pid_text)
    return pid != os.getpid() and not _process_alive(pid)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OverflowError:  # no process can have that id
        return False
    return True
