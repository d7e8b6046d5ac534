"""Differential test: unicorn's parser and h11 must agree on accept or reject.

Requests are generated from a grammar that mixes valid pieces with slightly
invalid ones (a lower-case method, a space before a colon, a chunk size
with trailing whitespace...). Both parsers read the first request; where
they disagree, ``known_difference`` must name the deliberate difference,
each of which is listed in tests/requests/DIFFERENCES.md. Any other
disagreement is a bug in one of them. h11 is a test-only dependency.
"""

import re
from pathlib import Path

import h11
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.parser_harness import Driver
from unicorn.http.framing import SINGLETON_FIELDS

# Which parser accepts an input of each class; the names are the headings
# of DIFFERENCES.md.
DIFFERENCES = {
    "leading-empty-line": "unicorn",
    "bare-lf": "h11",
    "lowercase-method": "h11",
    "other-http-version": "h11",
    "target-form": "h11",
    "host-syntax": "h11",
    "expect": "h11",
    "control-in-value": "h11",
    "obs-fold": "h11",
    "content-length-and-chunked": "h11",
    "chunked-in-http10": "h11",
    "long-content-length": "unicorn",
    "chunk-line": "h11",
    "chunk-ext-bws": "unicorn",
    "forbidden-trailer": "h11",
    "repeated-singleton": "h11",
}


# -- the two parsers -------------------------------------------------------------


def unicorn_accepts(raw: bytes) -> bool:
    """True when the first request, body included, is parsed without error."""
    driver = Driver()
    driver.feed(raw)
    driver.feed(b"")
    return bool(driver.outcome.messages)


def h11_accepts(raw: bytes) -> bool:
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=1_000_000)
    connection.receive_data(raw)
    connection.receive_data(b"")
    try:
        while True:
            event = connection.next_event()
            if isinstance(event, h11.EndOfMessage):
                return True
            if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                return False
    except h11.RemoteProtocolError:
        return False


# -- reading a raw request the way h11 splits it -------------------------------------

BLANK_LINE = re.compile(rb"\n\r?\n")
H11_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(;.*)?[ \t]*")
# Either parser's chunk size line, to follow the chunks of any input.
EITHER_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:[ \t]*;.*)?[ \t]*")
TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# RFC 9112 §7.1: chunk-size [ chunk-ext ], at most 16 digits (unicorn's bound).
STRICT_CHUNK_LINE = re.compile(
    rb"[0-9A-Fa-f]{1,16}(?:[ \t]*;[ \t]*" + TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + TOKEN + rb"|" + QUOTED
    + rb"))?)*")
# RFC 9110 §7.2 / RFC 3986 §3.2.2: uri-host [ ":" port ], reg-name or IP-literal.
HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[-A-Za-z0-9._~!$&'()*+,;=%]*)(?::[0-9]*)?")
AUTHORITY = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[-A-Za-z0-9._~!$&'()*+,;=%]+):[0-9]+")
ABSOLUTE = re.compile(rb"[A-Za-z][-+.A-Za-z0-9]*://(?:\[[0-9A-Fa-f:.]+\]|[-A-Za-z0-9._~!$&'()*+,;=%]+)"
                      rb"(?::[0-9]*)?(?:[/?#][\x21-\x7e]*)?")
VCHARS = re.compile(rb"[\x21-\x7e]+")
CONTROLS_H11_ALLOWS = re.compile(rb"[\x01-\x08\x0e-\x1f\x7f]")
FORBIDDEN_TRAILERS = {b"CONTENT-LENGTH", b"TRANSFER-ENCODING", b"HOST", b"TRAILER", b"TE",
                      b"AUTHORIZATION", b"CONTENT-TYPE", b"CONTENT-ENCODING", b"CONNECTION",
                      b"EXPECT"}


def split_lines(block: bytes) -> list[bytes]:
    """Lines as h11 sees them: split on LF, one CR before it removed."""
    return [line[:-1] if line.endswith(b"\r") else line for line in block.split(b"\n")]


def fields_of(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """(UPPER NAME, value) of each line that is not a continuation line."""
    fields = []
    for line in lines:
        if line[:1] in (b" ", b"\t") or b":" not in line:
            continue
        name, _, value = line.partition(b":")
        fields.append((name.upper(), value.strip(b" \t")))
    return fields


class Reading:
    """The parts of a raw request that the known differences look at."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        end = BLANK_LINE.search(raw)
        self.head = raw[:end.end()] if end else raw
        lines = split_lines(raw[:end.start()] if end else raw)
        self.request_line, self.field_lines = lines[0], lines[1:]
        parts = self.request_line.split(b" ")
        self.method, self.target, self.version = parts if len(parts) == 3 else (b"", b"", b"")
        self.fields = fields_of(self.field_lines)
        self.chunk_lines, self.trailer_section = [], b""
        if end and self.values(b"TRANSFER-ENCODING") == [b"chunked"]:
            self._walk_chunks(raw[end.end():])
        end = BLANK_LINE.search(self.trailer_section)
        self.trailer_lines = split_lines(self.trailer_section[:end.start()]) if end else []

    def values(self, name: bytes) -> list[bytes]:
        return [value.lower() if name == b"TRANSFER-ENCODING" else value
                for field_name, value in self.fields if field_name == name]

    def _walk_chunks(self, body: bytes) -> None:
        """Follow the chunk sizes as h11 would, keeping each size line and the trailers.

        trailer_section runs to the end of the blank line that closes it.
        """
        position = 0
        while (line_end := body.find(b"\r\n", position)) != -1:
            line = body[position:line_end]
            match = EITHER_CHUNK_LINE.fullmatch(line)
            if match is None:
                return
            self.chunk_lines.append(line)
            size = int(match.group(1), 16)
            position = line_end + 2
            if size == 0:
                rest = body[position:]
                end = BLANK_LINE.search(rest)
                if not rest.startswith((b"\r\n", b"\n")) and end:
                    self.trailer_section = rest[:end.end()]
                return
            position += size + 2


def valid_target(method: bytes, target: bytes) -> bool:
    """The four forms of RFC 9112 §3.2, each only where it is allowed."""
    if method == b"CONNECT":
        return AUTHORITY.fullmatch(target) is not None
    if target == b"*":
        return method == b"OPTIONS"
    return target.startswith(b"/") or ABSOLUTE.fullmatch(target) is not None


# -- the known differences, one predicate each ------------------------------------------


def leading_empty_line(r: Reading) -> bool:
    return r.raw.startswith(b"\r\n")


def bare_lf(r: Reading) -> bool:
    return any(re.search(rb"(?<!\r)\n", part) for part in (r.head, r.trailer_section))


def lowercase_method(r: Reading) -> bool:
    return re.search(rb"[a-z]", r.method) is not None


def other_http_version(r: Reading) -> bool:
    """Another major version, or HTTP/1.2-1.9 without Host: h11 asks Host of 1.1 alone."""
    if re.fullmatch(rb"HTTP/[02-9]\.[0-9]", r.version):
        return True
    return re.fullmatch(rb"HTTP/1\.[2-9]", r.version) is not None and not r.values(b"HOST")


def repeated_singleton(r: Reading) -> bool:
    names = [name for name, _ in fields_of(r.field_lines)]
    return any(names.count(name.encode()) > 1 for name in SINGLETON_FIELDS)


def target_form(r: Reading) -> bool:
    return VCHARS.fullmatch(r.target) is not None and not valid_target(r.method, r.target)


def host_syntax(r: Reading) -> bool:
    return any(HOST.fullmatch(value) is None for value in r.values(b"HOST"))


def expect(r: Reading) -> bool:
    values = r.values(b"EXPECT")
    return bool(values) and [value.lower() for value in values] != [b"100-continue"]


def control_in_value(r: Reading) -> bool:
    lines = r.field_lines + r.trailer_lines
    return any(CONTROLS_H11_ALLOWS.search(line) for line in lines)


def obs_fold(r: Reading) -> bool:
    return any(line[:1] in (b" ", b"\t") for lines in (r.field_lines, r.trailer_lines)
               for line in lines[1:])


def content_length_and_chunked(r: Reading) -> bool:
    return bool(r.values(b"CONTENT-LENGTH")) and bool(r.values(b"TRANSFER-ENCODING"))


def chunked_in_http10(r: Reading) -> bool:
    return r.version == b"HTTP/1.0" and bool(r.values(b"TRANSFER-ENCODING"))


def long_content_length(r: Reading) -> bool:
    return any(len(value) > 20 for value in r.values(b"CONTENT-LENGTH"))


def chunk_line(r: Reading) -> bool:
    return any(H11_CHUNK_LINE.fullmatch(line) and not STRICT_CHUNK_LINE.fullmatch(line)
               for line in r.chunk_lines)


def chunk_ext_bws(r: Reading) -> bool:
    return any(STRICT_CHUNK_LINE.fullmatch(line) and not H11_CHUNK_LINE.fullmatch(line)
               for line in r.chunk_lines)


def forbidden_trailer(r: Reading) -> bool:
    return any(name in FORBIDDEN_TRAILERS for name, _ in fields_of(r.trailer_lines))


PREDICATES = {
    "leading-empty-line": leading_empty_line,
    "bare-lf": bare_lf,
    "lowercase-method": lowercase_method,
    "other-http-version": other_http_version,
    "target-form": target_form,
    "host-syntax": host_syntax,
    "expect": expect,
    "control-in-value": control_in_value,
    "obs-fold": obs_fold,
    "content-length-and-chunked": content_length_and_chunked,
    "chunked-in-http10": chunked_in_http10,
    "long-content-length": long_content_length,
    "chunk-line": chunk_line,
    "chunk-ext-bws": chunk_ext_bws,
    "forbidden-trailer": forbidden_trailer,
    "repeated-singleton": repeated_singleton,
}


def known_differences(raw: bytes) -> list[str]:
    reading = Reading(raw)
    return [name for name, applies in PREDICATES.items() if applies(reading)]


def known_difference(raw: bytes) -> str | None:
    """The first deliberate difference with h11 that this input shows, if any."""
    found = known_differences(raw)
    return found[0] if found else None


# -- the grammar ----------------------------------------------------------------------


def piece(usual: list, odd: list, odds: int = 8):
    """One of the usual pieces, or about once in ``odds`` draws one of the odd ones."""
    return st.integers(1, odds).flatmap(
        lambda roll: st.sampled_from(odd if roll == 1 else usual))


METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"M-SEARCH", b"G_T"]
ODD_METHODS = [b"get", b"Post", b"CONNECT", b"G@T"]
TARGETS = [b"/", b"/a/b?c=d", b"//x", b"/p#frag", b"http://example.com/x"]
ODD_TARGETS = [b"*", b"http://u@example.com/", b"example.com:443", b"example.com", b"/caf\xe9",
               b"abc", b"/a\x7fb"]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0"]
ODD_VERSIONS = [b"HTTP/1.2", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1", b"HTTP/1.10"]
HOSTS = [b"Host: example.com\r\n", b"Host: [::1]:80\r\n", b"Host:\r\n"]
ODD_HOSTS = [b"", b"Host: example.com\r\nHost: example.com\r\n", b"Host: a b\r\n", b"Host: u@a\r\n",
             b"Host: a/b\r\n"]
FIELD_LINES = [b"X-A: b", b"X-A: caf\xe9", b"X-Empty:", b"X_A: b", b"Accept: */*",
               b"X-A: \t b \t"]
ODD_FIELD_LINES = [b"X-A : b", b"X-A\t: b", b"X-A: a\x01b", b"X-A: a\x7fb", b"X-A: a\x00b",
                   b"X-A: a\x0bb", b": b", b"X-A b", b"X-A:\r\n folded", b"Accept: */*\n",
                   b"X-A: a\rb", b"Content-Type: a/b\r\nContent-Type: c/d"]
EXPECTATIONS = [b"", b"", b"Expect: 100-continue\r\n"]
ODD_EXPECTATIONS = [b"Expect: foo\r\n", b"Expect: 100-continue\r\nExpect: 100-continue\r\n"]
CHUNK_SIZE_LINES = [b"%x", b"0%x", b"%X", b"%x;a=b", b'%x;a="q"', b"%x;a"]
ODD_CHUNK_SIZE_LINES = [b"%x ", b"%x\t", b"%x;", b"%x;a b", b"%x ;a", b"0x%x", b"+%x", b"%x;\x00",
                        b"%020x", b"%x;a=", b" %x"]
TRAILER_LINES = [b"X-T: 1", b"X-Checksum: abc"]
ODD_TRAILER_LINES = [b"Content-Length: 5", b"Host: x", b"X-T : 1", b"X-T: 1\r\n more",
                     b"X-T: a\x01b", b"Authorization: x", b"X-T: 1\n", b"X-T"]
CODINGS = [b"chunked", b"Chunked", b"chunked "]
ODD_CODINGS = [b"gzip, chunked", b"chunked, chunked", b"identity", b"xchunked", b"chunked,",
               b"chunked\r\nTransfer-Encoding: chunked"]


@st.composite
def chunked_body(draw, body: bytes) -> bytes:
    out = []
    for part in [body[:3], body[3:]]:
        if part:
            size_line = draw(piece(CHUNK_SIZE_LINES, ODD_CHUNK_SIZE_LINES)) % len(part)
            out.append(size_line + b"\r\n" + part + draw(piece([b"\r\n"], [b"\n", b"", b"\r\r\n"])))
    out.append(b"0\r\n")
    for _ in range(draw(st.integers(0, 2))):
        out.append(draw(piece(TRAILER_LINES, ODD_TRAILER_LINES)) + b"\r\n")
    return b"".join(out) + b"\r\n"


@st.composite
def framing(draw, body: bytes) -> tuple[bytes, bytes]:
    """(framing field lines, body on the wire)."""
    length = str(len(body)).encode()
    kind = draw(piece(["none", "length", "chunked"], ["odd-length", "both", "short-body"], odds=5))
    if kind == "none":
        return b"", b""
    if kind in ("length", "short-body"):
        return b"Content-Length: " + length + b"\r\n", body[:-1] if kind == "short-body" else body
    if kind == "odd-length":
        value = draw(st.sampled_from([b"+" + length, length + b", " + length, b"0" * 20 + length,
                                      length + b"\r\nContent-Length: " + length, b"0x" + length,
                                      length + b"\r\nContent-Length: 99", length + b" 0"]))
        return b"Content-Length: " + value + b"\r\n", body
    fields = b"Transfer-Encoding: " + draw(piece(CODINGS, ODD_CODINGS)) + b"\r\n"
    if kind == "both":
        fields += b"Content-Length: " + length + b"\r\n"
    return fields, draw(chunked_body(body))


@st.composite
def raw_requests(draw) -> bytes:
    """One request line, head and body; each piece now and then slightly wrong."""
    leading = draw(piece([b""], [b"\r\n", b"\n", b"\r\n\r\n"]))
    method = draw(piece(METHODS, ODD_METHODS))
    target = draw(piece(TARGETS, ODD_TARGETS))
    if method == b"CONNECT" and draw(st.booleans()):
        target = b"example.com:443"
    request_line = method + draw(piece([b" "], [b"  ", b"\t"])) + target + b" " + draw(
        piece(VERSIONS, ODD_VERSIONS)) + draw(piece([b"\r\n"], [b"\n", b"\r", b" \r\n"]))
    others = draw(st.lists(piece(FIELD_LINES, ODD_FIELD_LINES), max_size=2))
    fields, body = draw(framing(draw(st.binary(max_size=8))))
    head = (leading + request_line + draw(piece(HOSTS, ODD_HOSTS))
            + b"".join(line + b"\r\n" for line in others)
            + draw(piece(EXPECTATIONS, ODD_EXPECTATIONS)) + fields + b"\r\n")
    return head + body


# -- the test ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_requests())
@example(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
@example(b"get / HTTP/1.1\r\nHost: example.com\r\n\r\n")
@example(b"\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
def test_unicorn_and_h11_agree(raw):
    unicorn, other = unicorn_accepts(raw), h11_accepts(raw)
    if unicorn == other:
        return
    accepting = "unicorn" if unicorn else "h11"
    reasons = known_differences(raw)
    assert reasons, f"undocumented disagreement: only {accepting} accepts {raw!r}"
    assert any(DIFFERENCES[reason] == accepting for reason in reasons), (
        f"only {accepting} accepts {raw!r}, but the known differences {reasons} go the other way")


@pytest.mark.parametrize("raw, reason", [
    (b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "leading-empty-line"),
    (b"GET / HTTP/1.1\nHost: a\n\n", "bare-lf"),
    (b"get / HTTP/1.1\r\nHost: a\r\n\r\n", "lowercase-method"),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "other-http-version"),
    (b"GET / HTTP/1.2\r\n\r\n", "other-http-version"),  # found by hypothesis: no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n",
     "repeated-singleton"),
    (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", "target-form"),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "host-syntax"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n", "expect"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n", "control-in-value"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "obs-fold"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", "content-length-and-chunked"),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "chunked-in-http10"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000001\r\n\r\nx",
     "long-content-length"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n",
     "chunk-line"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: b\r\n\r\n",
     "forbidden-trailer"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 ;a\r\nx\r\n0\r\n\r\n",
     "chunk-ext-bws"),
])
def test_each_known_difference_is_real(raw, reason):
    """Each documented difference exists, goes the documented way, and is recognised."""
    assert known_difference(raw) == reason
    assert unicorn_accepts(raw) == (DIFFERENCES[reason] == "unicorn")
    assert h11_accepts(raw) == (DIFFERENCES[reason] == "h11")


def test_every_difference_is_documented():
    text = (Path(__file__).parent / "requests" / "DIFFERENCES.md").read_text(encoding="utf-8")
    missing = [name for name in DIFFERENCES if f"`{name}`" not in text]
    assert not missing, f"not in DIFFERENCES.md: {missing}"
