"""Lab 4's tests: labs/04-gateway/starter/gateway.py, driven with real WSGI apps (most of them
under wsgiref.validate), its bytes read back by a small strict HTTP/1.1 response reader.

One part at a time:  python -m pytest labs/04-gateway/tests -k test_04a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/04-gateway/tests
"""

import io
import re
import sys
import warnings
from dataclasses import dataclass
from urllib.parse import quote_from_bytes
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import WSGIWarning, validator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.labs.testing import Book, shorten

book = Book(__file__)

# Sections of book/04-gateway.md that the failure messages point to.
ENVIRON, INPUT = "The environ", "wsgi.input"
RESPONSE, FAILS = "The response", "When the application fails"
SPLIT = "Headers that would split the response"
ENDS, NO_BODY = "Where the body ends", "No body: HEAD, 204 and 304"
KEEP = "Keep-alive, in one place"

CLIENT, SERVER = ("10.0.0.7", 50123), ("127.0.0.1", 8000)
HOP_BY_HOP = ["Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
              "Trailer", "Transfer-Encoding", "Upgrade"]


@pytest.fixture(scope="module")
def code(impl):
    """The gateway module under test: the starter, unicorn, or a broken variant (LAB_IMPL)."""
    return impl.load("gateway")


# --- A strict reader for the bytes a response produced ---------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]  # lower-case names, in order
    body: bytes
    framing: str  # "content-length", "chunked", "close" or "none"
    rest: bytes  # bytes after the end of the message: there must be none

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def closes(self) -> bool:
        return any("close" in value.lower() for value in self.values("connection"))


def read_back(raw: bytes, method: str, section: str) -> Reply:
    """Read `raw` as a client that sent `method` would (RFC 9112 §6.3), or fail saying why."""
    head, blank, rest = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    match = re.fullmatch(r"HTTP/1\.[01] ([1-5][0-9][0-9]) [^\r\n]*", status_line)
    if not blank or match is None:
        raise AssertionError(book.expected("a status line, headers and a blank line",
                                           raw, section))
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not re.fullmatch(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+", name):
            raise AssertionError(book.expected("header lines NAME: VALUE", line, section))
        headers.append((name.lower(), value.strip(" \t")))
    reply = Reply(int(match.group(1)), headers, b"", "none", rest)
    lengths, codings = reply.values("content-length"), reply.values("transfer-encoding")
    if lengths and codings:
        raise AssertionError(book.says(f"both Content-Length and Transfer-Encoding in {head!r}: "
                                       "a client cannot tell where the body ends", ENDS))
    if method == "HEAD" or reply.status in (204, 304):
        return reply  # no body, whatever the headers say (RFC 9112 §6.3, rules 1 and 2)
    if codings:
        return read_chunked(reply, codings)
    if lengths:
        if len(lengths) > 1 or not lengths[0].isdigit():
            raise AssertionError(book.expected("one Content-Length, a number", lengths, ENDS))
        size = int(lengths[0])
        if len(rest) < size:
            raise AssertionError(book.says(f"Content-Length: {size} but only {len(rest)} body "
                                           "bytes", ENDS))
        reply.body, reply.rest, reply.framing = rest[:size], rest[size:], "content-length"
        return reply
    reply.body, reply.rest, reply.framing = rest, b"", "close"
    return reply


def read_chunked(reply: Reply, codings: list[str]) -> Reply:
    """Decode a chunked body strictly: hex size CRLF data CRLF ..., then 0 CRLF CRLF."""
    if codings != ["chunked"]:
        raise AssertionError(book.expected("Transfer-Encoding: chunked", codings, ENDS))
    data, body = reply.rest, b""
    while True:
        size_line, crlf, data = data.partition(b"\r\n")
        if not crlf or not re.fullmatch(rb"[0-9a-fA-F]+", size_line):
            raise AssertionError(book.expected("a chunk size in hex and CRLF",
                                               size_line + crlf + data[:20], ENDS))
        size = int(size_line, 16)
        if size == 0:
            if not data.startswith(b"\r\n"):
                raise AssertionError(book.expected("CRLF after the last chunk", data[:20], ENDS))
            reply.body, reply.rest, reply.framing = body, data[2:], "chunked"
            return reply
        if data[size:size + 2] != b"\r\n":
            raise AssertionError(book.says(f"a chunk of {size} bytes is not followed by CRLF",
                                           ENDS))
        body, data = body + data[:size], data[size + 2:]


# --- Running an app through the lab's Response -----------------------------------------------


def plain_environ(method: str = "GET") -> dict:
    environ = {"REQUEST_METHOD": method, "QUERY_STRING": "", "wsgi.input": io.BytesIO(b"")}
    setup_testing_defaults(environ)
    return environ


def serve(code, app, method: str = "GET", version: str = "HTTP/1.1") -> bytes:
    """Call `app` under wsgiref.validate with the lab's Response, as a server would: iterate,
    write each piece, finish, and close the iterable whatever happens. All bytes sent."""
    sent: list[bytes] = []
    response = code.Response(method, version, sent.append)
    result = validator(app)(plain_environ(method), response.start_response)
    try:
        for data in result:
            response.write(data)
        response.finish()
    finally:
        result.close()
    return b"".join(sent)


def text_app(status: str = "200 OK", headers: list | None = None, body: bytes = b"hello"):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain"),
                                ("Content-Length", str(len(body))), *(headers or [])])
        return [body]
    return app


# --- Part a: the environ ---------------------------------------------------------------------


def environ_of(code, method="GET", target="/", version="HTTP/1.1", headers=None, body=b""):
    headers = [("Host", "example.com:8080")] if headers is None else headers
    return code.build_environ(method, target, version, headers, body, CLIENT, SERVER)


def check_with_wsgiref(environ: dict) -> bytes:
    """Run an app that reads the whole body under wsgiref.validate; its warnings are errors."""
    def app(environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]

    with warnings.catch_warnings():
        warnings.simplefilter("error", WSGIWarning)
        try:
            result = validator(app)(environ, lambda status, headers, exc_info=None: None)
            try:
                return b"".join(result)
            finally:
                result.close()
        except (AssertionError, WSGIWarning) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise AssertionError(book.says(f"wsgiref.validate refused the environ: {message}",
                                           ENVIRON)) from error


@pytest.mark.parametrize("method, version, headers, body", [
    ("GET", "HTTP/1.1", [("Host", "lab")], b""),
    ("POST", "HTTP/1.1", [("Host", "lab"), ("Content-Type", "text/plain"),
                          ("Content-Length", "11")], b"hello, lab4"),
    ("GET", "HTTP/1.0", [], b""),
], ids=["GET", "POST with a body", "HTTP/1.0 without Host"])
def test_04a_environ_passes_wsgiref_validate(code, method, version, headers, body):
    environ = environ_of(code, method, "/lab?x=1", version, headers, body)
    got = check_with_wsgiref(environ)
    assert got == body, book.expected(body, got, INPUT)


def test_04a_request_line_keys(code):
    environ = environ_of(code, "POST", "/search?q=unicorn&lang=fr", "HTTP/1.0",
                         [("Content-Length", "0")])
    got = {key: environ.get(key) for key in ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO",
                                             "QUERY_STRING", "SERVER_PROTOCOL")}
    want = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/search",
            "QUERY_STRING": "q=unicorn&lang=fr", "SERVER_PROTOCOL": "HTTP/1.0"}
    assert got == want, book.expected(want, got, ENVIRON)
    got = environ_of(code, target="/plain").get("QUERY_STRING")
    assert got == "", book.expected("QUERY_STRING '' when the target has no '?'", got, ENVIRON)


@pytest.mark.parametrize("target, path_info", [
    ("/a%20b", "/a b"),
    ("/caf%C3%A9", "/caf\u00c3\u00a9"),
    ("/100%25", "/100%"),
], ids=["space", "UTF-8 bytes as latin-1", "a percent sign"])
def test_04a_path_info_is_decoded_as_latin1(code, target, path_info):
    got = environ_of(code, target=target).get("PATH_INFO")
    assert got == path_info, book.expected(f"PATH_INFO {path_info!r} for {target}", got, ENVIRON)


@given(path=st.binary(max_size=20).map(lambda raw: b"/" + raw.replace(b".", b"")))
def test_04a_any_path_comes_back_as_its_bytes(code, path):
    target = quote_from_bytes(path, safe="/")
    got = environ_of(code, target=target).get("PATH_INFO", "")
    assert got.encode("latin-1", "replace") == path, book.expected(
        f"PATH_INFO whose latin-1 bytes are {path!r} (target {target})", got, ENVIRON)


def test_04a_content_type_and_length_have_no_prefix(code):
    environ = environ_of(code, "POST", headers=[("Host", "lab"), ("Content-Type", "text/plain"),
                                                ("Content-Length", "5")], body=b"hello")
    got = {key: environ.get(key) for key in ("CONTENT_TYPE", "CONTENT_LENGTH",
                                             "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")}
    want = {"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "5",
            "HTTP_CONTENT_TYPE": None, "HTTP_CONTENT_LENGTH": None}
    assert got == want, book.expected(want, got, ENVIRON)
    environ = environ_of(code)
    got = (environ.get("CONTENT_TYPE", ""), environ.get("CONTENT_LENGTH", ""))
    assert got == ("", ""), book.expected("no CONTENT_TYPE or CONTENT_LENGTH (or empty ones) "
                                          "for a request without them", got, ENVIRON)


def test_04a_other_headers_are_http_keys(code):
    environ = environ_of(code, headers=[
        ("Host", "example.com:8080"), ("Accept-Encoding", "gzip"), ("x-lower", "yes"),
        ("X-Trace", "a"), ("X-Trace", "b"), ("User-Agent", "lab/4 (test)")])
    got = {key: environ.get(key) for key in ("HTTP_HOST", "HTTP_ACCEPT_ENCODING", "HTTP_X_LOWER",
                                             "HTTP_USER_AGENT")}
    want = {"HTTP_HOST": "example.com:8080", "HTTP_ACCEPT_ENCODING": "gzip",
            "HTTP_X_LOWER": "yes", "HTTP_USER_AGENT": "lab/4 (test)"}
    assert got == want, book.expected(want, got, ENVIRON)
    trace = environ.get("HTTP_X_TRACE", "")
    got = [member.strip() for member in trace.split(",")]
    assert got == ["a", "b"], book.expected(
        "HTTP_X_TRACE 'a,b' or 'a, b' for two X-Trace fields (RFC 9110 §5.3)", trace, ENVIRON)


def test_04a_addresses_and_wsgi_keys(code):
    environ = environ_of(code)
    got = {key: environ.get(key) for key in ("SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR",
                                             "wsgi.version", "wsgi.url_scheme", "wsgi.run_once")}
    want = {"SERVER_NAME": SERVER[0], "SERVER_PORT": str(SERVER[1]), "REMOTE_ADDR": CLIENT[0],
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.run_once": False}
    assert got == want, book.expected(want, got, ENVIRON)
    for key in ("wsgi.multithread", "wsgi.multiprocess"):
        assert type(environ.get(key)) is bool, book.expected(f"{key} True or False",
                                                             environ.get(key), ENVIRON)
    errors = environ.get("wsgi.errors")
    assert all(hasattr(errors, name) for name in ("write", "writelines", "flush")), \
        book.expected("wsgi.errors, a text file to write to (sys.stderr will do)", errors,
                      ENVIRON)


def test_04a_wsgi_input_holds_exactly_the_body(code):
    body = b"first line\nsecond line\n"
    headers = [("Host", "lab"), ("Content-Length", str(len(body)))]
    stream = environ_of(code, "PUT", headers=headers, body=body).get("wsgi.input")
    got = [stream.readline(), stream.read(3), stream.read(), stream.read(), stream.read(5)]
    want = [b"first line\n", b"sec", b"ond line\n", b"", b""]
    assert got == want, book.expected(want, got, INPUT)


# --- Part b: start_response and the head -----------------------------------------------------


def test_04b_response_reads_back(code):
    raw = serve(code, text_app(headers=[("X-Lab", "4b")]))
    reply = read_back(raw, "GET", RESPONSE)
    got = (reply.status, reply.values("x-lab"), reply.body, reply.rest)
    want = (200, ["4b"], b"hello", b"")
    assert got == want, book.expected(want, got, RESPONSE)


def test_04b_head_waits_for_the_first_body_bytes(code):
    sent: list[bytes] = []
    seen = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        seen.append(len(sent))
        yield b""
        seen.append(len(sent))
        yield b"hello"

    response = code.Response("GET", "HTTP/1.1", sent.append)
    result = validator(app)(plain_environ(), response.start_response)
    try:
        for data in result:
            response.write(data)
        response.finish()
    finally:
        result.close()
    assert seen == [0, 0], book.says(
        "bytes were sent before the first non-empty piece of the body (PEP 3333, "
        "'Buffering and Streaming'): a failure now could no longer be a 500", RESPONSE)
    reply = read_back(b"".join(sent), "GET", RESPONSE)
    assert (reply.status, reply.body) == (200, b"hello"), book.expected(
        (200, b"hello"), (reply.status, reply.body), RESPONSE)


def test_04b_write_callable_and_empty_body(code):
    def old_style(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain"),
                                          ("Content-Length", "5")])
        write(b"hel")
        return [b"lo"]

    reply = read_back(serve(code, old_style), "GET", RESPONSE)
    assert reply.body == b"hello", book.expected(b"hello from write(b'hel') and [b'lo']",
                                                 reply.body, RESPONSE)
    reply = read_back(serve(code, text_app(body=b"")), "GET", RESPONSE)
    assert (reply.status, reply.body) == (200, b""), book.expected(
        "a 200 head even though the body is empty", (reply.status, reply.body), RESPONSE)


def test_04b_second_start_response_is_an_error(code):
    response = code.Response("GET", "HTTP/1.1", lambda data: None)
    response.start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        response.start_response("404 Not Found", [("Content-Type", "text/plain")])
    except code.ResponseError:
        return
    raise AssertionError(book.says("a second start_response() without exc_info was accepted; "
                                   "PEP 3333 makes that an error", FAILS))


def test_04b_exc_info_before_the_head_replaces_the_status(code):
    def recovers(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise LookupError("no such page")
        except LookupError:
            start_response("404 Not Found", [("Content-Type", "text/plain"),
                                             ("Content-Length", "10")], sys.exc_info())
        return [b"not found\n"]

    raw = serve(code, recovers)
    reply = read_back(raw, "GET", FAILS)
    assert (reply.status, reply.body) == (404, b"not found\n"), book.expected(
        "the 404 that replaced the 200 before anything was sent", raw, FAILS)


def test_04b_exc_info_after_the_head_is_raised_again(code):
    failure = LookupError("failed after the head")
    response = code.Response("GET", "HTTP/1.1", lambda data: None)
    response.start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    response.write(b"hel")
    try:
        raise failure
    except LookupError:
        exc_info = sys.exc_info()
    try:
        response.start_response("500 Internal Server Error", [], exc_info)
    except LookupError as error:
        assert error is failure, book.expected("the very exception passed in exc_info", error,
                                               FAILS)
        return
    raise AssertionError(book.says("start_response(..., exc_info) after the head was sent "
                                   "returned; PEP 3333 says it re-raises exc_info", FAILS))


@pytest.mark.parametrize("name, value", [
    ("Set-Cookie", "a=1\r\nSet-Cookie: admin=1"),
    ("Location", "/next\nX-Evil: yes"),
    ("X-Note", "carriage\rreturn"),
    ("Bad Name", "value"),
    ("X-Colon:", "value"),
], ids=["CRLF in a value", "LF in a value", "CR in a value", "space in a name",
        "colon in a name"])
def test_04b_header_that_would_split_the_response_is_refused(code, name, value):
    sent: list[bytes] = []
    response = code.Response("GET", "HTTP/1.1", sent.append)
    try:
        response.start_response("200 OK", [("Content-Type", "text/plain"), (name, value)])
    except code.ResponseError:
        assert not sent, book.expected("nothing sent", b"".join(sent), SPLIT)
        return
    raise AssertionError(book.says(f"start_response accepted the header {name!r}: "
                                   f"{value!r} (expected ResponseError)", SPLIT))


@pytest.mark.parametrize("status", ["200", "OK", "20 OK", "200 OK\r\nX-Evil: yes", 200],
                         ids=["no reason", "no code", "two digits", "CRLF", "an int"])
def test_04b_bad_status_is_refused(code, status):
    response = code.Response("GET", "HTTP/1.1", lambda data: None)
    try:
        response.start_response(status, [("Content-Type", "text/plain")])
    except code.ResponseError:
        return
    raise AssertionError(book.says(f"start_response accepted the status {status!r} "
                                   "(expected ResponseError: PEP 3333 wants 'NNN Reason')",
                                   RESPONSE))


@pytest.mark.parametrize("name, value", [
    ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"),
    ("Upgrade", "h2c"), ("Trailer", "X-Checksum"), ("TE", "trailers"),
    ("Proxy-Authenticate", "Basic"),
], ids=lambda item: item if item in HOP_BY_HOP else "")
def test_04b_hop_by_hop_headers_never_reach_the_client(code, name, value):
    sent: list[bytes] = []
    response = code.Response("GET", "HTTP/1.1", sent.append)
    try:
        response.start_response("200 OK", [("Content-Type", "text/plain"),
                                           ("Content-Length", "5"), (name, value)])
    except code.ResponseError:
        return  # refusing it is fine too
    response.write(b"hello")
    response.finish()
    reply = read_back(b"".join(sent), "GET", RESPONSE)
    assert value not in reply.values(name.lower()), book.says(
        f"the application's {name}: {value} was sent; hop-by-hop headers describe the "
        "connection, which is the server's (RFC 9110 §7.6.1, PEP 3333)", RESPONSE)
    assert reply.body == b"hello", book.expected(b"hello", reply.body, RESPONSE)


# --- Part c: framing -------------------------------------------------------------------------


def frame(code, version, method, status="200 OK", headers=(), chunks=(b"hello",)) -> bytes:
    return code.frame_response(version, method, status, [("Content-Type", "text/plain"),
                                                         *headers], chunks)


def pieces(*parts: bytes):
    """A generator: a body whose length nobody knows until it ends."""
    yield from parts


def test_04c_apps_content_length_is_used(code):
    raw = frame(code, "HTTP/1.1", "GET", headers=[("Content-Length", "11")],
                chunks=pieces(b"hello", b" world"))
    reply = read_back(raw, "GET", ENDS)
    got = (reply.framing, reply.values("content-length"), reply.body, reply.rest)
    want = ("content-length", ["11"], b"hello world", b"")
    assert got == want, book.expected(want, got, ENDS)


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_04c_one_bytes_object_gets_a_length(code, version):
    reply = read_back(frame(code, version, "GET", chunks=[b"one piece\n"]), "GET", ENDS)
    got = (reply.framing, reply.values("content-length"), reply.body)
    want = ("content-length", ["10"], b"one piece\n")
    assert got == want, book.expected(want, got, ENDS)


def test_04c_generator_is_chunked_for_http11(code):
    raw = frame(code, "HTTP/1.1", "GET", chunks=pieces(b"first\n", b"", b"second\n"))
    reply = read_back(raw, "GET", ENDS)
    got = (reply.framing, reply.body, reply.rest)
    want = ("chunked", b"first\nsecond\n", b"")
    assert got == want, book.expected(want, got, ENDS)


def test_04c_http10_body_ends_at_close(code):
    raw = frame(code, "HTTP/1.0", "GET", chunks=pieces(b"first\n", b"second\n"))
    reply = read_back(raw, "GET", ENDS)
    assert not reply.values("transfer-encoding"), book.says(
        "Transfer-Encoding sent to an HTTP/1.0 client, which does not know chunked "
        "(RFC 9112 §6.1)", ENDS)
    got = (reply.framing, reply.body, reply.closes())
    want = ("close", b"first\nsecond\n", True)
    assert got == want, book.expected("no length, the raw body, Connection: close", got, ENDS)


@pytest.mark.parametrize("chunks", [
    pytest.param([b"one piece\n"], id="one bytes object"),
    pytest.param("generator", id="a generator"),
    pytest.param("length", id="the app's Content-Length"),
])
@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_04c_head_has_no_body(code, chunks, version):
    headers = [("Content-Length", "10")] if chunks == "length" else []
    body = [b"one piece\n"] if chunks != "generator" else pieces(b"one ", b"piece\n")
    raw = frame(code, version, "HEAD", headers=headers, chunks=body)
    reply = read_back(raw, "HEAD", NO_BODY)
    assert reply.rest == b"", book.says(f"a HEAD response carried body bytes {shorten(reply.rest)}"
                                        " (RFC 9110 §9.3.2)", NO_BODY)
    assert reply.values("transfer-encoding") == [], book.says(
        "a HEAD response said Transfer-Encoding: nothing follows the head to frame", NO_BODY)


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_04c_204_and_304_have_no_body(code, status):
    raw = frame(code, "HTTP/1.1", "GET", status, chunks=pieces(b"this is never sent"))
    reply = read_back(raw, "GET", NO_BODY)
    assert reply.rest == b"", book.says(f"a {status[:3]} carried body bytes "
                                        f"{shorten(reply.rest)} (RFC 9110 §15)", NO_BODY)
    assert not reply.values("transfer-encoding"), book.says(
        f"a {status[:3]} said Transfer-Encoding: it has no body to frame", NO_BODY)
    if status.startswith("204"):
        assert not reply.values("content-length"), book.says(
            "a 204 said Content-Length (RFC 9110 §8.6: never on a 204)", NO_BODY)


def test_04c_never_more_than_announced(code):
    raw = frame(code, "HTTP/1.1", "GET", headers=[("Content-Length", "5")],
                chunks=[b"hello", b", and more"])
    reply = read_back(raw, "GET", ENDS)
    assert (reply.body, reply.rest) == (b"hello", b""), book.says(
        f"the app announced 5 bytes and {5 + len(reply.rest)} were sent: the rest would be "
        "read as the next response", ENDS)


@pytest.mark.parametrize("chunks", [[b"one piece"], "generator", []],
                         ids=["one bytes object", "a generator", "an empty body"])
def test_04c_keep_alive_follows_the_framing(code, chunks):
    body = pieces(b"one ", b"piece") if chunks == "generator" else chunks
    reply = read_back(frame(code, "HTTP/1.1", "GET", chunks=body), "GET", KEEP)
    assert reply.framing in ("content-length", "chunked") and not reply.closes(), \
        book.expected("a length or chunks, and no Connection: close, so the HTTP/1.1 "
                      "connection can carry another request", (reply.framing, reply.headers),
                      KEEP)


@given(chunks=st.lists(st.binary(max_size=40), max_size=6),
       version=st.sampled_from(["HTTP/1.1", "HTTP/1.0"]),
       method=st.sampled_from(["GET", "POST", "HEAD"]))
def test_04c_any_body_reads_back(code, chunks, version, method):
    raw = frame(code, version, method, chunks=pieces(*chunks))
    reply = read_back(raw, method, ENDS)
    want = b"" if method == "HEAD" else b"".join(chunks)
    assert (reply.body, reply.rest) == (want, b""), book.expected(
        f"the body {shorten(want)} and nothing after it ({method}, {version})",
        (reply.body, reply.rest), ENDS)
