"""Hostile bytes over real sockets: malformed, ambiguous and smuggling requests.

Hypothesis builds requests that each break one rule a smuggler leans on
(conflicting framing, odd whitespace, control bytes, huge or negative
sizes), sometimes behind a valid request on the same connection, always
followed by a hidden ``GET /smuggled``. The bytes go to a running server,
sync and gthread, cut at random places. Whatever arrives, the malformed
request gets a 4xx or 5xx or a close, nothing after it is answered, the
hidden request is never served, and an ordinary request works afterwards.

The normal run tries a few dozen examples per worker;
``HYPOTHESIS_PROFILE=long`` tries thousands.
"""

import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.parity import statuses
from tests.parser_harness import cut_at
from tests.server import Server

EXAMPLES = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 60
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
HIDDEN = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
# What the echo app (tests/apps/server_apps.py) answers when it serves it; an
# error message may quote the hidden bytes, but never says this.
SERVED = b'"PATH_INFO": "/smuggled"'
VALID = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n"

# Each breaks one rule; {body} is where a body goes when the framing reads one.
# Conflicting framing (RFC 9112 §6.1, §6.3):
FRAMING = [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
    b"Content-Length: 5, 6\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked, identity\r\n",
    b"Transfer-Encoding: xchunked\r\n",
    b"Transfer-Encoding: gzip, chunked\r\n",
    b"Transfer-Encoding:\r\n chunked\r\n",
    b"Transfer-Encoding: \x0bchunked\r\n",
    b"Content-Length: +5\r\n",
    b"Content-Length: -5\r\n",
    b"Content-Length: 0x5\r\n",
    b"Content-Length: 5 5\r\n",
    b"Content-Length: \xd9\xa5\r\n",  # ARABIC-INDIC DIGIT FIVE in UTF-8
]
# Odd whitespace and control bytes in a field (RFC 9112 §5, RFC 9110 §5.5):
FIELDS = [
    b"Transfer-Encoding : chunked\r\n",
    b"Content-Length\t: 5\r\n",
    b" X-Folded: a\r\n",
    b"X-A: a\x00b\r\n",
    b"X-A: a\x01b\r\n",
    b"X-A: a\x7fb\r\n",
    b"X-A: a\rb\r\n",
    b"X-A: a\nb\r\n",
    b"X\x00A: b\r\n",
    b"X A: b\r\n",
    b": b\r\n",
    b"Content-Type: a/b\r\nContent-Type: c/d\r\n",
    b"Host: b\r\n",  # a second Host
]
# A broken request line (RFC 9112 §3):
REQUEST_LINES = [
    b"GET  / HTTP/1.1\r\n", b"GET\t/ HTTP/1.1\r\n", b"get / HTTP/1.1\r\n", b"GET / HTTP/1.1 \r\n",
    b"GET /\x00 HTTP/1.1\r\n", b"GET /\xff HTTP/1.1\r\n", b"GET / HTTP/1.1\n", b"GET / HTTP/2.0\r\n",
    b"GET / http/1.1\r\n", b"GET http://u@a/ HTTP/1.1\r\n", b"CONNECT / HTTP/1.1\r\n",
]
# Chunked bodies with huge, negative or malformed sizes (RFC 9112 §7.1):
CHUNKS = [
    b"FFFFFFFFFFFFFFFFF\r\n", b"-1\r\n", b"0x5\r\n", b"5 \r\nhello\r\n0\r\n\r\n",
    b"5;a b\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n", b"5\nhello\n0\n\n",
    b"1\r\na\r\n0\r\nContent-Length: 5\r\n\r\n", b"\r\n", b"5\r\nhel",
]


@st.composite
def malformed(draw) -> bytes:
    """One request that breaks exactly one of the rules above."""
    kind = draw(st.sampled_from(["framing", "field", "request line", "chunk"]))
    line = draw(st.sampled_from(REQUEST_LINES)) if kind == "request line" else b"POST / HTTP/1.1\r\n"
    fields = b"Host: a\r\n" + draw(st.sampled_from([b"", b"X-Pad: abc\r\n", b"Accept: */*\r\n"]))
    body = b"hello"
    if kind == "framing":
        fields += draw(st.sampled_from(FRAMING))
    elif kind == "field":
        fields += draw(st.sampled_from(FIELDS)) + b"Content-Length: 5\r\n"
    elif kind == "chunk":
        fields += b"Transfer-Encoding: chunked\r\n"
        body = draw(st.sampled_from(CHUNKS))
    else:
        fields += b"Content-Length: 5\r\n"
    return line + fields + b"\r\n" + body


@st.composite
def connections(draw) -> tuple[bytes, int, list[int]]:
    """(bytes to send, how many valid requests lead, where to cut them)."""
    leading = draw(st.integers(0, 2))
    raw = VALID * leading + draw(malformed()) + HIDDEN
    if draw(st.integers(1, 8)) == 1:
        return raw, leading, list(range(1, len(raw)))  # a byte at a time
    cuts = draw(st.lists(st.integers(1, len(raw) - 1), max_size=6, unique=True))
    return raw, leading, sorted(cuts)


def send(port: int, raw: bytes, cuts: list[int]) -> bytes:
    """Send raw in pieces (TCP_NODELAY, so each piece is its own segment), half-close, read all."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for piece in cut_at(raw, cuts):
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # refused and closed before everything was sent
        received = bytearray()
        try:
            while data := sock.recv(65536):
                received += data
        except OSError:
            pass
        return bytes(received)


@pytest.fixture(scope="module", params=["sync", "gthread"])
def server(request):
    server = Server("-k", request.param, "--threads", "4", "-w", "2")
    try:
        yield server.ready(workers=2)
    finally:
        server.kill()


@SETTINGS
@given(connections())
def test_hostile_requests_are_refused_and_hide_nothing(server, connection):
    raw, leading, cuts = connection
    answer = send(server.port, raw, cuts)
    assert SERVED not in answer, "the hidden request was served"
    found = statuses(answer)
    successes = [status for status in found if status < 400]
    assert successes == [200] * len(successes) and len(successes) <= leading, found
    assert found[len(successes):] in ([], [found[-1]]), f"answers after a refusal: {found}"
    assert all(status >= 400 for status in found[len(successes):]), found
    assert server.get("/after").startswith(b"HTTP/1.1 200 ")
