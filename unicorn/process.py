"""Two things a long-running Unix server does to its own process: name it and detach it.

``set_process_title`` makes ``ps`` tell the master from the workers;
``daemonize`` is the classic double fork for ``--daemon``.

Explained in the chapter "The pre-fork model".
gunicorn: gunicorn/util.py (daemonize, _setproctitle).
Left out: rewriting argv in place, which needs a C extension; the optional
``setproctitle`` package is used when installed.
"""

import os


def set_process_title(title: str) -> None:
    """Name this process for ``ps`` and ``top``.

    Without the ``setproctitle`` package only the 15-character "comm" name
    can be set (``ps -o comm``, ``top``); that is still enough to tell
    "unicorn: master" from "unicorn: worker".
    """
    try:
        from setproctitle import setproctitle
    except ImportError:
        try:
            with open("/proc/self/comm", "w") as comm:
                comm.write(title[:15])
        except OSError:
            pass  # not Linux: the title is a convenience, never a reason to fail
    else:
        setproctitle(title)


def daemonize() -> None:
    """Detach from the terminal: fork, start a new session, fork again.

    The first fork lets the shell's command return and makes us not a
    process-group leader, which ``setsid`` requires. The second fork makes
    sure we can never again acquire a controlling terminal. Standard input,
    output and error then point at /dev/null; log to files with --daemon.
    """
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.umask(0o22)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
