"""Broken for this lab: the probe sends its ordinary request before the slow clients connect.

A sync worker takes connections in the order they arrive, so it serves the ordinary request at
once and only then meets the slow clients: the probe reports a healthy server that two sockets
could have starved. A slowloris probe must occupy the server first, then measure.
"""

import select
import socket
import time

# The rest of the module is the reference's.
from unicorn.labs.reference.lab16.security import (  # noqa: F401
    CORPUS,
    ORDINARY,
    SLOW_HEAD,
    TRICKLE,
    hidden_request_answered,
    slow_client,
    trickle,
)

REPLACES = "security"
CAUGHT_BY = ("test_16c_slowloris_starves_a_sync_worker",)


def slowloris(address: tuple[str, int], connections: int, seconds: float) -> bool:
    ordinary = socket.create_connection(address, timeout=seconds)  # too early
    slow = [socket.create_connection(address, timeout=seconds) for _ in range(connections)]
    try:
        ordinary.sendall(ORDINARY)
        for sock in slow:
            sock.sendall(SLOW_HEAD)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([ordinary], [], [], TRICKLE)
            if ready:
                return not ordinary.recv(65536).startswith(b"HTTP/1.1 200")
            for sock in slow:
                trickle(sock)
        return True
    finally:
        for sock in [*slow, ordinary]:
            sock.close()
