"""USR2: replace the running master with a new one, without closing a socket.

The old master forks a child that execs a fresh ``python -m unicorn`` with the
same command line; the listening sockets survive the exec because their file
descriptors are passed down (``UNICORN_FD``). Both masters serve until the
operator sends TERM to the old one; then the new one takes the usual pidfile
name. Explained in the chapter "Upgrading without downtime"; gunicorn: reexec
and maybe_promote_master in gunicorn/arbiter.py. Left out: changing the bind
addresses in the same step (the new master keeps the sockets it inherits).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from unicorn.pidfile import PidfileError
from unicorn.sockets import listener_fds_env

if TYPE_CHECKING:
    from unicorn.arbiter import Arbiter

# Set in the new master's environment: the pid of the master that started it.
OLD_MASTER = "UNICORN_OLD_MASTER"


def old_master_pid(environ: dict) -> int:
    """The old master's pid if USR2 started us, else 0; the variable is consumed."""
    return int(environ.pop(OLD_MASTER, "0") or 0)


def pidfile_path(path: str, old_master: int) -> str:
    """While the old master lives, the new one writes beside its pidfile."""
    return path + ".2" if old_master else path


def reexec(arbiter: Arbiter) -> None:
    """Fork, and in the child exec a new master that inherits the listening sockets."""
    if arbiter.reexec_pid:
        arbiter.log.warning("USR2 ignored: a new master (pid %s) is already running",
                            arbiter.reexec_pid)
        return
    if arbiter.old_master_pid:
        arbiter.log.warning("USR2 ignored: the old master (pid %s) has not exited yet",
                            arbiter.old_master_pid)
        return
    pid = os.fork()
    if pid != 0:
        arbiter.reexec_pid = pid
        arbiter.log.explain(
            f"USR2: forked {pid}, which execs a new master on the same listening sockets. "
            "Send TERM to this (old) master to finish the upgrade.",
            "Upgrading without downtime",
        )
        return
    exec_new_master(arbiter)


def exec_new_master(arbiter: Arbiter) -> None:
    """The forked child: become the new master, or die trying; never return.

    Returning would put a second copy of the old master's loop to work, and
    its cleanup would close the sockets and delete the files the real one uses.
    """
    try:
        arbiter.cfg.pre_exec(arbiter)
        # listener_fds_env marks the fds inheritable, so exec keeps them.
        environ = dict(arbiter.launch_environ, **{OLD_MASTER: str(arbiter.pid)})
        environ.update(listener_fds_env(arbiter.listeners))
        os.chdir(arbiter.launch_dir)
        argv = [sys.executable, "-m", "unicorn", *arbiter.argv]
        os.execve(sys.executable, argv, environ)
    except BaseException as error:
        arbiter.log.error("Could not start the new master: %s", error)
    finally:
        os._exit(1)


def promote_if_old_master_gone(arbiter: Arbiter) -> None:
    """A master started by USR2 takes the usual pidfile name once the old one exits.

    The old master does not delete its pidfile while we live, and rename()
    replaces it in one step, so there is never a moment without a pidfile.
    """
    if not arbiter.old_master_pid or os.getppid() == arbiter.old_master_pid:
        return
    arbiter.log.info("Old master %s is gone; this master takes over", arbiter.old_master_pid)
    arbiter.old_master_pid = 0
    if arbiter.pidfile is None:
        return
    try:
        arbiter.pidfile.rename(arbiter.cfg.pidfile)
    except PidfileError as error:
        arbiter.log.warning("Keeping pidfile %s: %s", arbiter.pidfile.path, error)
