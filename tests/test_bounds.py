"""Every bound on what a client may make the server hold is a test.

An endless request line, header line, header block, chunk size line, chunk
extension and trailer section must each be cut off at its own limit, with
its own status: first in the parser, fed endlessly in pieces, where the
buffer is measured; then over real sockets on both workers, where the
client sends one byte past the limit and the answer must come without
another byte; and the threaded worker's memory is measured while many
clients send endless header lines at once. Last, idle keep-alive
connections and unfinished heads are closed after their time bound.
"""

import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.parser_harness import cut_at, parse
from unicorn.http import errors
from unicorn.http.parser import MAX_CHUNK_LINE, NEED_DATA, Limits, RequestParser

LIMITS = Limits()
WORKERS = ["sync", "gthread"]
CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


@dataclass
class Bound:
    """A stream that never ends by itself: ``start``, then ``filler`` forever."""

    name: str
    start: bytes
    filler: bytes
    limit: int  # the bytes of ``start`` and filler after which it must be refused
    status: int
    error: str


BOUNDS = [
    Bound("request line", b"GET /", b"a", LIMITS.request_line, 414, "RequestLineTooLong"),
    Bound("header line", b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: ", b"a",
          len(b"GET / HTTP/1.1\r\nHost: a\r\n") + LIMITS.field_size - 2, 431, "HeadersTooLarge"),
    Bound("header block", b"GET / HTTP/1.1\r\nHost: a\r\n", b"X-Many: a\r\n",
          len(b"GET / HTTP/1.1\r\nHost: a\r\n") + len(b"X-Many: a\r\n") * (LIMITS.fields - 1), 431,
          "HeadersTooLarge"),
    Bound("chunk size line", CHUNKED_HEAD, b"0", len(CHUNKED_HEAD) + MAX_CHUNK_LINE, 400,
          "InvalidChunk"),
    Bound("chunk extension", CHUNKED_HEAD + b"5;name=", b"v", len(CHUNKED_HEAD) + MAX_CHUNK_LINE,
          400, "InvalidChunk"),
    Bound("trailer section", CHUNKED_HEAD + b"0\r\n", b"X-Trailer: a\r\n",
          len(CHUNKED_HEAD + b"0\r\n") + len(b"X-Trailer: a\r\n") * LIMITS.fields, 431,
          "HeadersTooLarge"),
]


def endless(bound: Bound, size: int) -> bytes:
    """The first ``size`` bytes of the endless stream."""
    fill = bound.filler * (size // len(bound.filler) + 1)
    return (bound.start + fill)[:size]


# -- in the parser -----------------------------------------------------------------


@pytest.mark.parametrize("piece", [1000, 65536])
@pytest.mark.parametrize("bound", BOUNDS, ids=lambda bound: bound.name)
def test_parser_cuts_an_endless_stream_at_its_limit(bound, piece):
    """Fed forever, the parser refuses before its buffer holds a piece past the limit."""
    parser = RequestParser()
    stream = endless(bound, 2_000_000)
    with pytest.raises(errors.HTTPError) as refused:
        for offset in range(0, len(stream), piece):
            parser.feed(stream[offset:offset + piece])
            while parser.next_event() is not NEED_DATA:
                pass
            assert len(parser.buffer) <= bound.limit + piece
    assert (type(refused.value).__name__, refused.value.status) == (bound.error, bound.status)
    assert offset < bound.limit + piece


@pytest.mark.parametrize("bound", BOUNDS, ids=lambda bound: bound.name)
def test_parser_waits_at_the_limit_and_refuses_one_byte_past_it(bound):
    """Exactly ``limit`` bytes may still become a valid message; one more may not."""
    outcome = parse([endless(bound, bound.limit)], close=False)
    assert outcome.error is None
    outcome = parse([endless(bound, bound.limit + 1)], close=False)
    assert (outcome.error, outcome.status) == (bound.error, bound.status)


# Small limits, so that generated heads cross them; the answer must still not
# depend on how the bytes were split.
SMALL = Limits(request_line=24, fields=3, field_size=16)
PIECES = [b"GET", b" ", b"/", b"aaaaaaaa", b" HTTP/1.1", b"\r\n", b"Host: a", b"X: bbbbbbbb",
          b"\r", b"\n", b"\x00", b"Transfer-Encoding: chunked", b"0", b"\r\n\r\n"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join), st.data())
def test_limits_give_the_same_answer_however_the_bytes_are_split(raw, data):
    cuts = data.draw(st.lists(st.integers(1, max(len(raw) - 1, 1)), max_size=10))
    assert parse(cut_at(raw, cuts), SMALL).key() == parse([raw], SMALL).key()


# -- over real sockets, on both workers ----------------------------------------------


def answer_without_more(port: int, raw: bytes, wait: float = 5) -> bytes:
    """Send ``raw`` and keep the connection open: what does the server say on its own?"""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(raw)
        return sock.recv(4096)


@pytest.mark.parametrize("worker", WORKERS)
def test_each_bound_is_cut_at_its_limit_over_a_socket(start_server, worker):
    server = start_server("-k", worker, "--threads", "2").ready()
    for bound in BOUNDS:
        answer = answer_without_more(server.port, endless(bound, bound.limit + 1))
        assert answer.startswith(b"HTTP/1.1 %d " % bound.status), (bound.name, answer[:80])
    assert server.get().startswith(b"HTTP/1.1 200 ")


def peak_memory_kb(pid: int) -> int:
    """The most resident memory the process has used so far (VmHWM), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


def test_many_endless_header_lines_cost_one_limit_each(start_server):
    """Forty clients at once send a 1 MB header line to one threaded worker.

    Each is refused once its line passes 8 KB, so the worker's peak memory
    grows by far less than forty times the 823 KB a whole head may take.
    """
    server = start_server("-k", "gthread", "--threads", "2", "-w", "1").ready()
    worker = server.worker_pids()[0]
    assert server.get().startswith(b"HTTP/1.1 200 ")
    before = peak_memory_kb(worker)
    clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
    line = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + b"a" * 1_000_000
    for sock in clients:
        sock.setblocking(False)
    sent = [0] * len(clients)
    deadline = time.monotonic() + 20
    while min(sent) < len(line) and time.monotonic() < deadline:
        for index, sock in enumerate(clients):
            try:
                sent[index] += sock.send(line[sent[index]:sent[index] + 65536])
            except BlockingIOError:
                pass
            except OSError:
                sent[index] = len(line)  # refused and closed: what we wanted
    for sock in clients:
        sock.close()
    assert server.get().startswith(b"HTTP/1.1 200 ")
    grown = peak_memory_kb(worker) - before
    assert grown < 8_000, f"the worker's peak memory grew by {grown} kB"


# -- time bounds ------------------------------------------------------------------------


@pytest.mark.parametrize("worker", WORKERS)
def test_an_unfinished_head_is_closed_after_its_bound(start_server, worker):
    """sync: a read may wait timeout/2; gthread: the whole head must come within timeout."""
    server = start_server("-k", worker, "--timeout", "2").ready()
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        answer = b""
        while data := sock.recv(4096):
            answer += data
    elapsed = time.monotonic() - start
    assert 0.8 < elapsed < 6, elapsed
    assert answer == b"" if worker == "sync" else answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.parametrize("worker", WORKERS)
def test_an_idle_connection_is_closed_after_its_bound(start_server, worker):
    """sync never keeps a connection; gthread keeps one idle for --keep-alive seconds."""
    server = start_server("-k", worker, "--keep-alive", "1").ready()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200 ")
        start = time.monotonic()
        while sock.recv(4096):
            pass
        elapsed = time.monotonic() - start
    assert elapsed < 0.5 if worker == "sync" else 0.8 < elapsed < 4, elapsed
