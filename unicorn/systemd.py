"""Talking to systemd: readiness notifications and socket-activation fds.

This module speaks the protocol; turning fds into listeners is
sockets.inherited_listeners' job.

Explained in the chapter "Running under systemd".
gunicorn: gunicorn/systemd.py.
Left out: the watchdog (WATCHDOG=1), fd names (LISTEN_FDNAMES) and vsock notify addresses.
"""

import os
import socket
from collections.abc import MutableMapping

# sd_listen_fds(3): passed sockets always start right after stdin, stdout and stderr.
SD_LISTEN_FDS_START = 3

# The states the arbiter sends; see sd_notify(3) for the full list.
READY = "READY=1"
STOPPING = "STOPPING=1"
RELOADING = "RELOADING=1"


def notify(state: str, environ: MutableMapping[str, str] = os.environ) -> bool:
    """Send one sd_notify(3) message, such as "READY=1\\nSTATUS=Listening", to systemd.

    Under a unit with Type=notify, systemd starts the units that depend on us only after READY=1,
    so the arbiter sends it once its listeners are bound and its first workers forked.
    The message is a single datagram on the unix socket named by $NOTIFY_SOCKET;
    a name beginning with '@' lives in the abstract namespace (no file), spelt with a NUL byte.

    Returns False when there is no $NOTIFY_SOCKET (we are not run by systemd) or the send fails:
    notifications are best effort and a server must run the same with or without them.
    systemd only believes its main process by default (NotifyAccess=main), so at the end of a USR2
    upgrade the old master, still the main process, names its successor with MAINPID=<pid>.
    """
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode("utf-8"), address)
    except OSError:
        return False
    return True


def listen_fds(environ: MutableMapping[str, str] = os.environ) -> list[int]:
    """The fds systemd passed us through socket activation, or [] when it passed none.

    systemd binds the sockets itself, execs us with them open as fds 3, 4, ..., and sets
    LISTEN_FDS to how many there are and LISTEN_PID to the pid they are meant for.
    The pid check matters: the variables are inherited by every child, and only the process
    systemd started may claim the fds. So once we have claimed them we remove the variables,
    and our own children never mistake themselves for the addressee.
    """
    if environ.get("LISTEN_PID", "").strip() != str(os.getpid()):
        return []
    count_text = environ.get("LISTEN_FDS", "0").strip()
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        environ.pop(name, None)
    if not count_text.isdigit():
        raise ValueError(f"LISTEN_FDS={count_text!r} is not a number of file descriptors")
    return list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + int(count_text)))
