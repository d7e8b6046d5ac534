"""Lab 13's reference: unicorn's own systemd protocol, and unicorn as the socket-activated server.

listen_fds and notify adapt unicorn/systemd.py; adopt adapts sockets.adopt_fd, which unicorn's
inherited_listeners calls for each fd systemd passed. Run as a program, this module *is*
`python -m unicorn`: exec keeps the pid that systemd-socket-activate (or systemd) gave it, so
unicorn finds LISTEN_PID naming itself, adopts the fds instead of binding, and sends READY=1.
"""

import os
import socket
import sys
from collections.abc import MutableMapping
from pathlib import Path

HERE = Path(__file__).parent
HELLO = b"Hello, world!\n"

# This module's import name, also when it runs as __main__.
APP_MODULE = "unicorn.labs.reference.lab13.service"


def unicorn_systemd():
    """unicorn's systemd module. If a rename in unicorn breaks lab 13, fix this line."""
    from unicorn import systemd

    return systemd


def unicorn_sockets():
    from unicorn import sockets

    return sockets


def listen_fds(environ: MutableMapping[str, str]) -> list[int]:
    return unicorn_systemd().listen_fds(environ)


def adopt(fd: int) -> socket.socket:
    sockets = unicorn_sockets()
    listener = sockets.adopt_fd(fd, origin=sockets.ORIGIN_SYSTEMD)
    listener.sock.setblocking(True)  # unicorn's workers select() first; the lab's loop blocks
    return listener.sock


def notify(state: str, environ: MutableMapping[str, str]) -> bool:
    return unicorn_systemd().notify(state, environ)


def unit_template(name: str) -> str:
    """The unit file `name` ("unicorn.service" or "unicorn.socket") with its @PLACEHOLDERS@."""
    return (HERE / f"{name}.template").read_text()


def hello(environ, start_response):
    """The WSGI app unicorn serves: the lab's one response."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def main(argv: list[str]) -> None:
    """Become `python -m unicorn -w 1 <this>:hello`, which takes its sockets from LISTEN_FDS."""
    command = [sys.executable, "-m", "unicorn", "-w", "1", *argv, f"{APP_MODULE}:hello"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main(sys.argv[1:])
