"""Properties of the request parser, checked on generated input (hypothesis).

- Whatever bytes arrive, the parser either produces events or raises an
  errors.HTTPError subclass; no other exception escapes.
- The outcome does not depend on how the bytes are split into pieces.
- Valid requests built from the grammar's alphabets survive a round trip:
  serialise, parse in random pieces, get back the same method, target,
  headers, body and trailers, also when 1-3 of them are pipelined.
"""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.parser_harness import cut_at, load_cases, parse
from unicorn.http.framing import SINGLETON_FIELDS

CORPUS = load_cases("valid") + load_cases("invalid")
SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- alphabets (RFC 9110 §5.6.2, §5.5; RFC 3986 §3.3) ---------------------------
TCHAR = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
METHOD_CHARS = "".join(c for c in TCHAR if not c.islower())  # methods are upper-case tokens
NAME_CHARS = TCHAR.replace("_", "")  # names with "_" are dropped; tested separately
PCHAR = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
FIELD_VCHAR = "".join(map(chr, [*range(0x21, 0x7F), *range(0x80, 0x100)]))
# Names the generator must not produce by accident: they change framing or
# the answer, or are refused as trailers (RFC 9110 §6.5.1).
SPECIAL_NAMES = {"HOST", "CONTENT-LENGTH", "TRANSFER-ENCODING", "CONNECTION", "EXPECT",
                 "TRAILER", "TE", "AUTHORIZATION", "CONTENT-TYPE", "CONTENT-ENCODING",
                 *SINGLETON_FIELDS}
# Bytes that make parsers take unusual paths.
INTERESTING_BYTES = b"\r\n\x00 \t:;,0aF\x7f\x80\xff/?#*_"
HTTP_PIECES = [b"GET", b"get", b"POST", b"OPTIONS", b"CONNECT", b" ", b"  ", b"\t", b"/", b"*",
               b"/a?b", b"http://h/", b"h:1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"\r\n",
               b"\r\n\r\n", b"\n", b"\r", b"Host: a", b"Host:", b":", b"Content-Length: 5",
               b"Content-Length: 0", b"Transfer-Encoding: chunked", b"Expect: 100-continue",
               b"Connection: close", b"0", b"5", b"FFFFFFFFFFFFFFFFF", b";", b"=", b"\"",
               b"hello", b"\x00", b"\x80", b"_", b"X-A: b"]


@st.composite
def split_points(draw, raw: bytes) -> list[int]:
    if len(raw) < 2:
        return []
    return draw(st.lists(st.integers(1, len(raw) - 1), max_size=12))


def any_pieces(raw: bytes, cuts: list[int]) -> list[bytes]:
    return cut_at(raw, cuts)


http_ish_bytes = st.lists(st.sampled_from(HTTP_PIECES), max_size=40).map(b"".join)
random_input = st.one_of(st.binary(max_size=300), http_ish_bytes)


@st.composite
def mutated_case(draw) -> bytes:
    """A corpus case with a few bytes replaced, inserted, deleted or repeated."""
    raw = bytearray(draw(st.sampled_from(CORPUS)).raw)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(raw)))
        byte = draw(st.one_of(st.sampled_from(list(INTERESTING_BYTES)), st.integers(0, 255)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "repeat"]))
        if kind == "insert" or not raw:
            raw.insert(position, byte)
        elif kind == "replace":
            raw[min(position, len(raw) - 1)] = byte
        elif kind == "delete":
            del raw[position:position + draw(st.integers(1, 8))]
        else:
            raw[position:position] = raw[position:position + draw(st.integers(1, 40))]
    return bytes(raw)


# -- only HTTPError, and split-independent ----------------------------------------


@SETTINGS
@given(st.data(), random_input)
def test_random_bytes_only_raise_http_errors(data, raw):
    # parse() catches errors.HTTPError only; anything else fails the test.
    parse(any_pieces(raw, data.draw(split_points(raw))))


@SETTINGS
@given(st.data(), mutated_case())
def test_mutated_corpus_only_raises_http_errors(data, raw):
    parse(any_pieces(raw, data.draw(split_points(raw))))


@SETTINGS
@given(st.data(), random_input)
def test_random_bytes_outcome_ignores_splits(data, raw):
    whole = parse([raw])
    pieces = parse(any_pieces(raw, data.draw(split_points(raw))))
    assert pieces.key() == whole.key()


@SETTINGS
@given(st.data(), mutated_case())
def test_mutated_corpus_outcome_ignores_splits(data, raw):
    whole = parse([raw])
    pieces = parse(any_pieces(raw, data.draw(split_points(raw))))
    assert pieces.key() == whole.key()


# -- round trip of generated valid requests -------------------------------------------

field_names = st.text(NAME_CHARS, min_size=1, max_size=12).filter(
    lambda name: name.upper() not in SPECIAL_NAMES)
field_values = st.text(FIELD_VCHAR + " \t", max_size=30).map(lambda v: v.strip(" \t"))
optional_whitespace = st.sampled_from(["", " ", "\t", "  \t"])


@st.composite
def field_lines(draw, max_fields: int = 6) -> tuple[bytes, list[tuple[str, str]]]:
    """Field lines as sent (with OWS, some dropped "_" names) and as expected."""
    wire, expected = [], []
    for _ in range(draw(st.integers(0, max_fields))):
        name, value = draw(field_names), draw(field_values)
        if draw(st.integers(0, 9)) == 0:
            name = name[:3] + "_" + name[3:]  # dropped by the parser, never expected
        else:
            expected.append((name.upper(), value))
        line = f"{name}:{draw(optional_whitespace)}{value}{draw(optional_whitespace)}\r\n"
        wire.append(line.encode("latin-1"))
    return b"".join(wire), expected


@st.composite
def targets(draw) -> tuple[str, str, str]:
    segments = draw(st.lists(st.text(PCHAR, max_size=8), min_size=1, max_size=4))
    path = "/" + "/".join(segments)
    query = draw(st.none() | st.text(PCHAR + "/?", max_size=20))
    target = path if query is None else f"{path}?{query}"
    return target, path, query or ""


@st.composite
def chunked_body(draw, body: bytes) -> bytes:
    """body cut into random chunks, with valid extensions and trailers."""
    cuts = draw(st.lists(st.integers(1, max(1, len(body) - 1)), max_size=5)) if len(body) > 1 else []
    out = []
    for piece in cut_at(body, cuts) if body else []:
        size = format(len(piece), draw(st.sampled_from(["x", "X", "04x"])))
        extension = draw(st.sampled_from(["", ";a", " ; name=value", ';q="x; \\"y\\""']))
        out.append(f"{size}{extension}\r\n".encode() + piece + b"\r\n")
    out.append(b"0\r\n")
    return b"".join(out)


@st.composite
def requests(draw) -> tuple[bytes, dict]:
    """One valid request on the wire and the summary the parser must give."""
    method = draw(st.text(METHOD_CHARS, min_size=1, max_size=10).filter(lambda m: m != "CONNECT"))
    target, path, query = draw(targets())
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    fields, headers = draw(field_lines())
    wire = [f"{method} {target} {version}\r\n".encode(), b"Host: example.com\r\n", fields]
    headers = [("HOST", "example.com"), *headers]
    connection = draw(st.sampled_from([None, "close", "keep-alive", "Keep-Alive, Upgrade"]))
    if connection is not None:
        wire.append(f"Connection: {connection}\r\n".encode())
        headers.append(("CONNECTION", connection))
    keep_alive = ("close" not in (connection or "")) if version == "HTTP/1.1" else (
        connection is not None and "keep-alive" in connection.lower())
    expect_continue = draw(st.booleans())
    if expect_continue:
        wire.append(b"Expect: 100-continue\r\n")
        headers.append(("EXPECT", "100-continue"))
    body = draw(st.binary(max_size=200))
    trailers = []
    if version == "HTTP/1.1" and draw(st.booleans()):
        wire.append(b"Transfer-Encoding: chunked\r\n\r\n")
        headers.append(("TRANSFER-ENCODING", "chunked"))
        trailer_wire, trailers = draw(field_lines(max_fields=3))
        wire += [draw(chunked_body(body)), trailer_wire, b"\r\n"]
    elif body or draw(st.booleans()):
        wire.append(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        headers.append(("CONTENT-LENGTH", str(len(body))))
    else:
        wire.append(b"\r\n")
    summary = {"method": method, "target": target, "path": path, "query": query,
               "version": version, "host": "example.com", "headers": headers,
               "keep_alive": keep_alive, "expect_continue": expect_continue and version == "HTTP/1.1",
               "body": body, "trailers": trailers}
    return b"".join(wire), summary


@SETTINGS
@given(st.data(), st.lists(requests(), min_size=1, max_size=3))
def test_generated_requests_round_trip(data, pipelined):
    raw = b"".join(wire for wire, _ in pipelined)
    outcome = parse(any_pieces(raw, data.draw(split_points(raw))))
    assert outcome.error is None, outcome.error
    assert outcome.messages == [summary for _, summary in pipelined]
    assert outcome.closed
