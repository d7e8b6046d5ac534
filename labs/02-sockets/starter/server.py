"""Lab 2: a server built from bare sockets: bind, listen, accept, read, write, close.

Keep the interface (names, arguments, return values) and main(), which is already written;
write the bodies of the four functions that raise NotImplementedError.
Read labs/02-sockets/README.md first. Run: python -m unicorn.labs check 2 --part a
Try it: python labs/02-sockets/starter/server.py -b 127.0.0.1:8000 -b unix:/tmp/lab2.sock
"""

import argparse
import socket
import sys
from dataclasses import dataclass

# The one response this server knows. Content-Length says where the body ends.
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
            b"Connection: close\r\n\r\nHello, world!\n")


@dataclass(frozen=True)
class Address:
    """One parsed bind address; only the fields of its kind are set."""

    kind: str  # "tcp", "tcp6" or "unix"
    host: str | None = None  # tcp, tcp6: without brackets
    port: int | None = None  # tcp, tcp6
    path: str | None = None  # unix


def parse_address(text: str) -> Address:
    """HOST:PORT, HOST, [IPV6]:PORT, [IPV6] or unix:PATH, as unicorn's --bind reads them.
    A missing port is 8000; an empty host (":8000") is 0.0.0.0. Raise ValueError otherwise."""
    raise NotImplementedError("Lab 2b: split the text into an Address")


def open_listener(address: Address) -> socket.socket:
    """A socket bound to `address` and listening (port 0: the kernel picks a free port)."""
    raise NotImplementedError("Lab 2a: socket(), bind(), listen(); Lab 2c: unix sockets too")


def serve_one(listener: socket.socket) -> None:
    """Accept one connection, read the request head up to its blank line, send RESPONSE,
    close the connection, and return."""
    raise NotImplementedError("Lab 2a: accept(), recv() until b'\\r\\n\\r\\n', sendall(), close()")


def serve_forever(listeners: list[socket.socket]) -> None:
    """Serve connections on all `listeners`, one at a time, whichever is ready first."""
    raise NotImplementedError("Lab 2c: wait on every listener at once (select), serve_one it")


def describe(listener: socket.socket) -> str:
    """The address a listener really has, as unicorn prints it: http://HOST:PORT or unix:PATH."""
    name = listener.getsockname()
    if listener.family == socket.AF_UNIX:
        return f"unix:{name}"
    if listener.family == socket.AF_INET6:
        return f"http://[{name[0]}]:{name[1]}"
    return f"http://{name[0]}:{name[1]}"


def main(argv: list[str]) -> None:
    """server.py -b ADDRESS [-b ADDRESS ...]: one "Listening at:" line per listener, then serve."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-b", "--bind", action="append", required=True, metavar="ADDRESS")
    listeners = [open_listener(parse_address(text)) for text in options.parse_args(argv).bind]
    for listener in listeners:
        print(f"Listening at: {describe(listener)}", flush=True)
    try:
        serve_forever(listeners)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
