"""Metrics for a statsd daemon: one UDP datagram per measurement, sent and forgotten.

Why UDP, and why never wait for an answer: a request must not get slower, or
fail, because the metrics daemon is slow, restarting or gone. A datagram costs
one send() that the kernel either queues or drops; nothing is ever read back,
so a missing daemon costs nothing but the lost numbers.

Each worker sends three measurements per request, at the moment the access log
line is written (Worker.after_request); the master sends the worker count as a
gauge whenever it changes (Arbiter.manage_workers). The lines follow the statsd
format, ``name:value|type``:

    unicorn.requests:1|c                 a counter: one more request
    unicorn.request.status.200:1|c       a counter per status code
    unicorn.request.duration:12.5|ms     a timer, in milliseconds
    unicorn.workers:4|g                  a gauge: the value now

Explained in the chapter "Logging".
gunicorn: gunicorn/instrument/statsd.py, which names its metrics ``gunicorn.*``.
Left out: unix-socket destinations, Datadog tags, counters of error-log lines,
the backlog metric, and sample rates.
"""

from __future__ import annotations

import socket

DEFAULT_PORT = 8125  # statsd's usual port, as gunicorn assumes when none is given


def parse_statsd_address(text: str) -> tuple[str, int]:
    """HOST:PORT, HOST, [IPV6]:PORT or [IPV6] -> (host, port). Raises ValueError saying why."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [IPV6]:PORT")
        port = rest[1:]
    else:
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not host:
        raise ValueError(f"{text!r} has no host; use HOST:PORT, e.g. localhost:8125")
    if not port:
        return host, DEFAULT_PORT
    if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{port!r} in {text!r} is not a port number")
    return host, int(port)


class Statsd:
    """A statsd client that never raises and never blocks; without an address it does nothing."""

    def __init__(self, address: str | None = None, prefix: str = "") -> None:
        # "app" and "app." both mean the metric "app.unicorn.requests", as in gunicorn.
        self.prefix = prefix.rstrip(".") + "." if prefix else ""
        self.sock = None if address is None else connect(address)

    def request(self, status: str, seconds: float) -> None:
        """The three measurements of one finished request; status is "200 OK"."""
        self.send(f"unicorn.request.duration:{seconds * 1000:.3f}|ms")
        self.send("unicorn.requests:1|c")
        self.send(f"unicorn.request.status.{status.split(None, 1)[0]}:1|c")

    def workers(self, count: int) -> None:
        self.send(f"unicorn.workers:{count}|g")

    def send(self, line: str) -> None:
        if self.sock is None:
            return
        try:
            self.sock.send((self.prefix + line).encode("ascii"))
        except OSError:
            # Full buffers, or ECONNREFUSED: the kernel's report that an earlier
            # datagram found nobody listening. Either way the number is lost, not the request.
            pass

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


def connect(address: str) -> socket.socket | None:
    """A UDP socket connected to the daemon: the name is resolved once, here, not per metric.

    connect() on a datagram socket sends nothing; it fixes where send() goes.
    A name that does not resolve gives None, and no metrics, rather than no server.
    """
    host, port = parse_statsd_address(address)
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError:
        return None
    sock.setblocking(False)  # a full send buffer drops the datagram instead of waiting
    try:
        sock.connect(where)
    except OSError:
        sock.close()
        return None
    return sock
