"""Lab 3's tests: the parser in labs/03-parsing/starter/parser.py, fed whole and in random pieces.

One part at a time:  python -m pytest labs/03-parsing/tests -k test_03a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/03-parsing/tests
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.labs.testing import Book, shorten, split_anywhere

book = Book(__file__)

REQUEST_LINE, FIELDS, FRAMING = "The request line", "Header fields", "Framing"
SECTION = {"request_line": REQUEST_LINE, "headers": FIELDS, "body": FRAMING}

# Field names whose values change the framing or routing; the random fields avoid them.
SPECIAL = {"host", "content-length", "transfer-encoding", "connection", "expect"}


@pytest.fixture(scope="module")
def code(impl):
    """The parser module under test: the starter, unicorn, or a broken variant (LAB_IMPL)."""
    return impl.load("parser")


def ask(code, pieces: list[bytes], question: str):
    """Feed `pieces` one at a time, asking `question` after each; return the final answer.

    The parser may answer None while it needs more bytes, but an answer once given must stay.
    """
    parser = code.Parser()
    answer = None
    for piece in pieces:
        parser.feed(piece)
        got = getattr(parser, question)()
        assert answer is None or got == answer, book.says(
            f"{question}() said {answer!r}, then {got!r} once more bytes came", SECTION[question])
        answer = got
    return answer


def assert_refused(code, data: bytes, question: str, why: str) -> None:
    """Feeding `data` whole, then asking `question`, must raise the lab's ParseError."""
    parser = code.Parser()
    try:
        parser.feed(data)
        answer = getattr(parser, question)()
    except code.ParseError:
        return
    raise AssertionError(book.says(f"expected ParseError ({why}), got {question}() -> "
                                   f"{shorten(answer)}", SECTION[question]))


# --- Part a: the request line ----------------------------------------------------------------


@pytest.mark.parametrize("data, method, target, version", [
    (b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n", "GET", "/", "HTTP/1.1"),
    (b"POST /a/b?x=1&y=%20 HTTP/1.0\r\n\r\n", "POST", "/a/b?x=1&y=%20", "HTTP/1.0"),
    (b"OPTIONS * HTTP/1.1\r\nHost: lab\r\n\r\n", "OPTIONS", "*", "HTTP/1.1"),
    (b"GET http://lab/x HTTP/1.1\r\nHost: lab\r\n\r\n", "GET", "http://lab/x", "HTTP/1.1"),
], ids=["GET /", "HTTP/1.0 with a query", "OPTIONS *", "absolute form"])
def test_03a_request_line_is_read(code, data, method, target, version):
    got = ask(code, [data], "request_line")
    want = code.RequestLine(method, target, version)
    assert got == want, book.expected(want, got, REQUEST_LINE)


def test_03a_request_line_waits_for_its_crlf(code):
    for partial in (b"GET / HTTP/1.1", b"GET / HTTP/1.1\r"):
        got = ask(code, [partial], "request_line")
        assert got is None, book.expected(f"None (more bytes needed) after {partial!r}", got,
                                          REQUEST_LINE)


@given(method=st.from_regex(r"[A-Z]{1,12}", fullmatch=True).filter(lambda m: m != "CONNECT"),
       target=st.from_regex(r"/[!-~]{0,30}", fullmatch=True),
       version=st.sampled_from(["HTTP/1.0", "HTTP/1.1"]), data=st.data())
def test_03a_any_request_line_in_any_pieces(code, method, target, version, data):
    head = f"{method} {target} {version}\r\nHost: lab\r\n\r\n".encode()
    got = ask(code, data.draw(split_anywhere(head), label="pieces"), "request_line")
    want = code.RequestLine(method, target, version)
    assert got == want, book.expected(want, got, REQUEST_LINE)


@pytest.mark.parametrize("line", [
    pytest.param(b"GET  / HTTP/1.1", id="two spaces"),
    pytest.param(b"GET\t/ HTTP/1.1", id="tab"),
    pytest.param(b" GET / HTTP/1.1", id="leading space"),
    pytest.param(b"GET / HTTP/1.1 ", id="trailing space"),
    pytest.param(b"GET /", id="no version"),
    pytest.param(b"GET /a b HTTP/1.1", id="space in target"),
    pytest.param(b"GET / HTTP/2.0", id="version 2.0"),
    pytest.param(b"GET / http/1.1", id="lower-case version"),
    pytest.param(b"get / HTTP/1.1", id="lower-case method"),
    pytest.param(b"G(T / HTTP/1.1", id="method not a token"),
    pytest.param(b"GET /\x00 HTTP/1.1", id="NUL in target"),
    pytest.param(b"GET /caf\xc3\xa9 HTTP/1.1", id="non-ASCII target"),
    pytest.param(b"GET / HTTP/1.1\nX: y", id="bare LF"),
])
def test_03a_malformed_request_line_is_refused(code, line):
    assert_refused(code, line + b"\r\nHost: lab\r\n\r\n", "request_line",
                   f"malformed request line {line!r}")


# --- Part b: header fields -------------------------------------------------------------------


def test_03b_fields_are_read_in_order(code):
    data = (b"GET / HTTP/1.1\r\nHost: lab\r\nAccept: */*\r\nX-Thing:   padded value \t\r\n"
            b"x-thing: second\r\nX-Empty:\r\n\r\n")
    got = ask(code, [data], "headers")
    want = [("host", "lab"), ("accept", "*/*"), ("x-thing", "padded value"),
            ("x-thing", "second"), ("x-empty", "")]
    assert got == want, book.expected(want, got, FIELDS)


def test_03b_fields_wait_for_the_blank_line(code):
    for partial in (b"GET / HTTP/1.1\r\nHost: lab\r\n", b"GET / HTTP/1.1\r\nHost: lab\r\n\r"):
        got = ask(code, [partial], "headers")
        assert got is None, book.expected(f"None (more bytes needed) after {partial!r}", got,
                                          FIELDS)


def test_03b_host_is_optional_only_in_http10(code):
    got = ask(code, [b"GET / HTTP/1.0\r\n\r\n"], "headers")
    assert got == [], book.expected([], got, FIELDS)
    assert_refused(code, b"GET / HTTP/1.1\r\n\r\n", "headers",
                   "HTTP/1.1 without Host, RFC 9112 §3.2")
    assert_refused(code, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "headers",
                   "two Host fields, RFC 9112 §3.2")


FIELD_NAME = st.from_regex(r"[-!#$%&'*+.^`|~0-9A-Za-z]{1,20}", fullmatch=True).filter(
    lambda name: name.lower() not in SPECIAL)
FIELD_VALUE = st.from_regex(r"([!-~]([ \t!-~]{0,30}[!-~])?)?", fullmatch=True)


@given(fields=st.lists(st.tuples(FIELD_NAME, FIELD_VALUE), max_size=8), data=st.data())
def test_03b_any_fields_in_any_pieces(code, fields, data):
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields)
    head = f"GET / HTTP/1.1\r\nHost: lab\r\n{lines}\r\n".encode()
    got = ask(code, data.draw(split_anywhere(head), label="pieces"), "headers")
    want = [("host", "lab")] + [(name.lower(), value) for name, value in fields]
    assert got == want, book.expected(want, got, FIELDS)


@pytest.mark.parametrize("indent", [b" ", b"\t"], ids=["space", "tab"])
def test_03b_obs_fold_is_refused(code, indent):
    data = b"GET / HTTP/1.1\r\nHost: lab\r\nX-Long: first\r\n" + indent + b"second\r\n\r\n"
    assert_refused(code, data, "headers", "obs-fold, RFC 9112 §5.2")


@pytest.mark.parametrize("line", [
    pytest.param(b"X-Bad : value", id="space before colon"),
    pytest.param(b"X-Bad value", id="no colon"),
    pytest.param(b": value", id="empty name"),
    pytest.param(b"X(Bad): value", id="name not a token"),
    pytest.param(b"\xdcnicode: value", id="non-ASCII name"),
    pytest.param(b"X-Bad: a\x00b", id="NUL in value"),
    pytest.param(b"X-Bad: a\nX-Other: b", id="bare LF"),
    pytest.param(b"X-Bad: a\rb", id="bare CR"),
])
def test_03b_bad_field_line_is_refused(code, line):
    data = b"GET / HTTP/1.1\r\nHost: lab\r\n" + line + b"\r\n\r\n"
    assert_refused(code, data, "headers", f"bad field line {line!r}")


# --- Part c: bodies --------------------------------------------------------------------------


def post(*fields: bytes, body: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return b"POST / " + version + b"\r\nHost: lab\r\n" + b"".join(
        field + b"\r\n" for field in fields) + b"\r\n" + body


def test_03c_no_framing_means_no_body(code):
    got = ask(code, [b"GET / HTTP/1.1\r\nHost: lab\r\n\r\nGET /next HTTP/1.1\r\n"], "body")
    assert got == b"", book.expected(b"", got, FRAMING)


def test_03c_content_length_frames_the_body(code):
    got = ask(code, [post(b"Content-Length: 11", body=b"hello worldGET /next HTTP/1.1\r\n")],
              "body")
    assert got == b"hello world", book.expected(b"hello world (and not the next request)", got,
                                                FRAMING)


def test_03c_chunked_body_is_decoded(code):
    chunks = b"5\r\nhello\r\n6;name=value\r\n world\r\na\r\n0123456789\r\n0\r\n\r\n"
    got = ask(code, [post(b"Transfer-Encoding: chunked", body=chunks)], "body")
    assert got == b"hello world0123456789", book.expected(b"hello world0123456789", got, FRAMING)


def test_03c_body_waits_for_all_its_bytes(code):
    for partial in (post(b"Content-Length: 10", body=b"hello"),
                    post(b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n"),
                    post(b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n")):
        got = ask(code, [partial], "body")
        assert got is None, book.expected(f"None (more bytes needed) after {partial!r}", got,
                                          FRAMING)


@given(body=st.binary(max_size=200), chunked=st.booleans(), data=st.data())
def test_03c_any_body_in_any_pieces(code, body, chunked, data):
    if chunked:
        chunks = data.draw(split_anywhere(body), label="chunks") if body else []
        encoded = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
        request = post(b"Transfer-Encoding: chunked", body=encoded + b"0\r\n\r\n")
    else:
        request = post(b"Content-Length: %d" % len(body), body=body)
    got = ask(code, data.draw(split_anywhere(request), label="pieces"), "body")
    assert got == body, book.expected(body, got, FRAMING)


@pytest.mark.parametrize("fields", [
    (b"Content-Length: 5", b"Transfer-Encoding: chunked"),
    (b"Transfer-Encoding: chunked", b"Content-Length: 5"),
], ids=["length first", "chunked first"])
def test_03c_both_framings_are_refused(code, fields):
    assert_refused(code, post(*fields, body=b"0\r\n\r\n"), "body",
                   "Content-Length and Transfer-Encoding together, RFC 9112 §6.1")


@pytest.mark.parametrize("request_bytes", [
    pytest.param(post(b"Content-Length: abc"), id="length not a number"),
    pytest.param(post(b"Content-Length: -5", body=b"hello"), id="negative length"),
    pytest.param(post(b"Content-Length: +5", body=b"hello"), id="length with a sign"),
    pytest.param(post(b"Content-Length: 5", b"Content-Length: 6", body=b"hello!"),
                 id="lengths disagree"),
    pytest.param(post(b"Transfer-Encoding: gzip", body=b"hello"), id="not chunked"),
    pytest.param(post(b"Transfer-Encoding: chunked", body=b"0\r\n\r\n", version=b"HTTP/1.0"),
                 id="chunked in HTTP/1.0"),
    pytest.param(post(b"Transfer-Encoding: chunked", body=b"zz\r\nhello\r\n0\r\n\r\n"),
                 id="chunk size not hex"),
    pytest.param(post(b"Transfer-Encoding: chunked", body=b"0x5\r\nhello\r\n0\r\n\r\n"),
                 id="chunk size 0x5"),
    pytest.param(post(b"Transfer-Encoding: chunked", body=b"+5\r\nhello\r\n0\r\n\r\n"),
                 id="chunk size +5"),
    pytest.param(post(b"Transfer-Encoding: chunked", body=b"5\r\nhelloXX\r\n0\r\n\r\n"),
                 id="chunk without its CRLF"),
])
def test_03c_bad_framing_is_refused(code, request_bytes):
    assert_refused(code, request_bytes, "body", "framing that cannot be trusted, RFC 9112 §6-7")
