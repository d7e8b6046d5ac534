"""USR2: replace the running master with a new one, without closing a socket.

The old master forks a child that execs a fresh ``python -m unicorn`` with
the same command line; the listening sockets survive the exec because their
file descriptors are passed down (``UNICORN_FD``). Both masters serve until
the operator sends TERM to the old one; then the new one takes the usual
pidfile name. These functions return what the arbiter stores.

Explained in the chapter "Reloads and upgrades".
gunicorn: reexec and maybe_promote_master in gunicorn/arbiter.py.
Left out: changing the bind addresses in the same step (the new master keeps
the sockets it inherits).
"""

import os
import sys
from typing import NoReturn, Protocol

from unicorn.config import Config
from unicorn.log import Logger
from unicorn.pidfile import Pidfile, PidfileError
from unicorn.sockets import Listener, listener_fds_env


class Master(Protocol):
    """What USR2 needs from the running master (the Arbiter), and nothing more.

    Named here rather than imported, so that this module does not import the
    arbiter that imports it. Nothing here writes to the master: it stores
    what these functions return.
    """

    cfg: Config
    log: Logger
    pid: int
    argv: list[str]
    launch_dir: str
    launch_environ: dict[str, str]
    listeners: list[Listener]


# Set in the new master's environment: the pid of the master that started it.
OLD_MASTER = "UNICORN_OLD_MASTER"


def old_master_pid(environ: dict) -> int:
    """The old master's pid if USR2 started us, else 0; the variable is consumed."""
    return int(environ.pop(OLD_MASTER, "0") or 0)


def pidfile_path(path: str, old_master: int) -> str:
    """While the old master lives, the new one writes beside its pidfile."""
    return path + ".2" if old_master else path


def reexec(master: Master) -> int:
    """Fork, and in the child exec a new master that inherits the listening sockets.

    Returns the child's pid, which the arbiter keeps as ``reexec_pid``.
    """
    pid = os.fork()
    if pid != 0:
        master.log.explain(
            f"USR2: forked {pid}, which execs a new master on the same listening sockets. "
            "Send TERM to this (old) master to finish the upgrade.",
            "Reloads and upgrades",
        )
        return pid
    exec_new_master(master)


def exec_new_master(master: Master) -> NoReturn:
    """The forked child: become the new master, or die trying; never return.

    Returning would put a second copy of the old master's loop to work, and
    its cleanup would close the sockets and delete the files the real one uses.
    """
    try:
        master.cfg.pre_exec(master)
        # listener_fds_env marks the fds inheritable, so exec keeps them.
        environ = dict(master.launch_environ, **{OLD_MASTER: str(master.pid)})
        environ.update(listener_fds_env(master.listeners))
        os.chdir(master.launch_dir)
        argv = [sys.executable, "-m", "unicorn", *master.argv]
        os.execve(sys.executable, argv, environ)
    except BaseException as error:
        master.log.error("Could not start the new master: %s", error)
    finally:
        os._exit(1)


def promote_if_old_master_gone(old_master_pid: int, pidfile: Pidfile | None,
                               pidfile_path: str, log: Logger) -> int:
    """A master started by USR2 takes the usual pidfile name once the old one exits.

    Returns the old master's pid while it lives, and 0 once it is gone: the
    arbiter stores it as ``old_master_pid``. The old master does not delete
    its pidfile while we live, and rename() replaces it in one step, so there
    is never a moment without a pidfile.
    """
    if not old_master_pid or os.getppid() == old_master_pid:
        return old_master_pid
    # Rename first, then say so: whoever reads the log line and then the pidfile
    # (a script, a test, the book's example) must find the new pid there.
    if pidfile is not None:
        try:
            pidfile.rename(pidfile_path)
        except PidfileError as error:
            log.warning("Keeping pidfile %s: %s", pidfile.path, error)
    log.info("Old master %s is gone; this master takes over", old_master_pid)
    return 0
