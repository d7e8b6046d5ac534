"""Lab 2's reference: unicorn's own address parsing and listeners, and unicorn as the server.

parse_address and open_listener adapt unicorn/sockets.py. serve_one is a few plain lines, because
a unicorn worker never serves just one connection. Run as a program (part c), this module *is*
`python -m unicorn`: it execs unicorn with the lab's -b options, serving hello() below; the
lab's serve_forever is unicorn's arbiter and sync worker, so it has no counterpart here.
"""

import os
import socket
import sys
from dataclasses import dataclass

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
            b"Connection: close\r\n\r\nHello, world!\n")
HELLO = b"Hello, world!\n"

# This module's import name, also when it runs as __main__ (python -m ...lab02.server).
APP_MODULE = "unicorn.labs.reference.lab02.server"

# How much of a request head serve_one reads before giving up on it (unicorn's default limits).
MAX_HEAD = 65536


@dataclass(frozen=True)
class Address:
    kind: str
    host: str | None = None
    port: int | None = None
    path: str | None = None


def unicorn_sockets():
    """unicorn's listener module. If a rename in unicorn breaks lab 2, fix this line."""
    from unicorn import sockets

    return sockets


def parse_address(text: str) -> Address:
    parsed = unicorn_sockets().parse_address(text)
    if parsed.kind == "fd":  # unicorn takes fd://N too; the lab leaves inherited fds to chapter 13
        raise ValueError(f"{text!r}: fd:// is not part of lab 2")
    return Address(parsed.kind, parsed.host, parsed.port, parsed.path)


def open_listener(address: Address) -> socket.socket:
    sockets = unicorn_sockets()
    text = str(sockets.Address(address.kind, address.host, address.port, address.path))
    [listener] = sockets.create_listeners([text], backlog=64, reuse_port=False, umask=0o022,
                                          log=_StderrLog(), retries=0)
    # unicorn's listeners are non-blocking, for workers that select() first; serve_one blocks.
    listener.sock.setblocking(True)
    return listener.sock


class _StderrLog:
    """The one method create_listeners needs from unicorn's logger."""

    def error(self, message: str, *args) -> None:
        print(message % args, file=sys.stderr)


def serve_one(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
            data = connection.recv(4096)
            if not data:
                return  # the client left before finishing its head: nothing to answer
            head += data
        connection.sendall(RESPONSE)


def hello(environ, start_response):
    """The WSGI app unicorn serves for part c: the same response as RESPONSE."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def main(argv: list[str]) -> None:
    """server.py -b ADDRESS ...: become `python -m unicorn -w 1 -b ADDRESS ... <this>:hello`.

    exec, not a call: the process the test started is then unicorn's master, as in production.
    """
    command = [sys.executable, "-m", "unicorn", "-w", "1", *argv, f"{APP_MODULE}:hello"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main(sys.argv[1:])
