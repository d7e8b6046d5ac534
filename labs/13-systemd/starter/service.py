"""Lab 13: a server that systemd starts: inherited sockets, READY=1, and its unit files.

Write the bodies of listen_fds(), adopt() and notify(), and the two unit templates beside this
file (unicorn.socket.template, unicorn.service.template). The rest is already written.
Read labs/13-systemd/README.md first. Run: python -m unicorn.labs check 13 --part a
Try it: systemd-socket-activate -l 127.0.0.1:8000 python labs/13-systemd/starter/service.py
"""

import os
import select
import socket
import sys
from collections.abc import MutableMapping
from pathlib import Path

HERE = Path(__file__).parent

# The one response this server knows. Content-Length says where the body ends.
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
            b"Connection: close\r\n\r\nHello, world!\n")


def listen_fds(environ: MutableMapping[str, str]) -> list[int]:
    """The fds systemd passed to this process (sd_listen_fds(3)), or [] if it passed none.

    LISTEN_FDS says how many, starting at fd 3; LISTEN_PID says for which process: when it is
    not ours (os.getpid()), the variables were inherited from a parent and mean nothing to us.
    Once claimed, remove LISTEN_PID and LISTEN_FDS from `environ`, so our children never claim
    the same fds. Raise ValueError when LISTEN_FDS is not a number.
    """
    raise NotImplementedError("Lab 13a: check LISTEN_PID, read LISTEN_FDS, return [3, 4, ...]")


def adopt(fd: int) -> socket.socket:
    """The listening socket that `fd` already is: a socket object around it, not a new one.

    Let the kernel say its family (TCP, IPv6, unix), and call listen() if nobody has yet.
    """
    raise NotImplementedError("Lab 13a: socket.socket(fileno=fd), then listen() if needed")


def notify(state: str, environ: MutableMapping[str, str]) -> bool:
    """Send `state` (e.g. "READY=1") as one datagram to the unix socket named by NOTIFY_SOCKET
    (sd_notify(3)); a name starting with "@" is in the abstract namespace.

    Return True when it was sent; False when there is no NOTIFY_SOCKET or the send fails,
    because a server must run the same with or without systemd.
    """
    raise NotImplementedError("Lab 13b: one datagram to $NOTIFY_SOCKET")


def unit_template(name: str) -> str:
    """The unit file `name` ("unicorn.service" or "unicorn.socket") with its @PLACEHOLDERS@."""
    return (HERE / f"{name}.template").read_text()


def describe(listener: socket.socket) -> str:
    """The address a listener really has, as unicorn prints it: http://HOST:PORT or unix:PATH."""
    name = listener.getsockname()
    if listener.family == socket.AF_UNIX:
        return f"unix:{name}"
    if listener.family == socket.AF_INET6:
        return f"http://[{name[0]}]:{name[1]}"
    return f"http://{name[0]}:{name[1]}"


def serve_forever(listeners: list[socket.socket]) -> None:
    """Answer every connection with RESPONSE, one at a time (the server of lab 2)."""
    while True:
        ready, _, _ = select.select(listeners, [], [])
        for listener in ready:
            connection, _ = listener.accept()
            with connection:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    data = connection.recv(4096)
                    if not data:
                        break
                    head += data
                else:
                    connection.sendall(RESPONSE)


def main() -> None:
    """Serve on the sockets systemd passed, and tell systemd once we do."""
    fds = listen_fds(os.environ)
    if not fds:
        sys.exit("no sockets from systemd: run me under systemd-socket-activate -l ADDRESS")
    listeners = [adopt(fd) for fd in fds]
    for listener in listeners:
        print(f"Listening at: {describe(listener)}", flush=True)
    notify("READY=1", os.environ)
    try:
        serve_forever(listeners)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
