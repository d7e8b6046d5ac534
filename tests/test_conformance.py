"""Malformed and smuggling requests against a running `python -m unicorn -w 1 echo_app:app`.

Each one must get its status, and the connection must then be closed: a
second request sent behind the bad one in the same packet is never answered.
"""

import re

import pytest

from tests.server import ROOT, status_of

ROOT_EXAMPLES = ROOT / "examples"

FOLLOW_UP = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

CASES = [
    ("lower-case method", b"get / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("two spaces", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("bad version", b"GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400),
    ("HTTP/2", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("two Content-Types", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\n"
     b"Content-Type: c/d\r\nContent-Length: 0\r\n\r\n", 400),
    ("no Host on 1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nFoo : bar\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nFoo: a\r\n b\r\n\r\n", 400),
    ("NUL in value", b"GET / HTTP/1.1\r\nHost: x\r\nFoo: a\x00b\r\n\r\n", 400),
    ("non-ASCII target", b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("asterisk with GET", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("CL.TE", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400),
    ("TE.CL obfuscated", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
                         b"Content-Length: 4\r\n\r\n5c\r\n", 400),
    ("TE with space before colon", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked"
                                   b"\r\n\r\n0\r\n\r\n", 400),
    ("chunked on HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("chunked twice", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked"
                      b"\r\n\r\n0\r\n\r\n", 400),
    ("gzip then chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked"
                          b"\r\n\r\n0\r\n\r\n", 501),
    ("final coding not chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip"
                                 b"\r\n\r\n", 400),
    ("differing Content-Lengths", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                                  b"Content-Length: 2\r\n\r\nab", 400),
    ("signed Content-Length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na", 400),
    ("0x chunk size", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"0x1\r\na\r\n0\r\n\r\n", 400),
    ("chunk without CRLF", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"1\r\naX0\r\n\r\n", 400),
    ("forbidden trailer", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"0\r\nContent-Length: 5\r\n\r\n", 400),
    ("unknown expectation", b"GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417),
    ("request line too long", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("too many fields", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 101 + b"\r\n", 431),
    ("field too large", b"GET / HTTP/1.1\r\nHost: x\r\nA: " + b"b" * 9000 + b"\r\n\r\n", 431),
]


@pytest.fixture(scope="module")
def server():
    from tests.server import ROOT, Server

    started = Server("-w", "1", app="echo_app:app", cwd=ROOT / "examples").ready()
    yield started
    started.kill()


@pytest.mark.parametrize("name, raw, status", CASES, ids=[case[0] for case in CASES])
def test_bad_request_gets_its_status_and_a_closed_connection(server, name, raw, status):
    response = server.request(raw + FOLLOW_UP, timeout=10)
    assert status_of(response) == status
    status_lines = re.findall(rb"HTTP/1\.1 \d{3} ", response)
    assert len(status_lines) == 1, "something after the bad request was answered"
    assert b"Connection: close\r\n" in response
    assert b"/smuggled" not in response


def test_a_good_request_is_still_served_afterwards(server):
    response = server.get("/fine")
    assert status_of(response) == 200
    assert b'"PATH_INFO": "/fine"' in response


def test_zero_limits_mean_the_largest_allowed(start_server):
    server = start_server("-w", "1", "--limit-request-fields", "0",
                          "--limit-request-field-size", "0", "--limit-request-line", "0",
                          app="echo_app:app", cwd=ROOT_EXAMPLES).ready()
    many = b"".join(b"X-F%d: v\r\n" % n for n in range(150))
    long_value = b"X-Long: " + b"v" * 20000 + b"\r\n"
    target = b"/" + b"a" * 6000
    response = server.request(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + many + long_value
                              + b"Connection: close\r\n\r\n")
    assert status_of(response) == 200
    too_long = server.request(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(too_long) == 414
