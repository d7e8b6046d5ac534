"""The request corpus: every case in tests/requests/, fed in many different pieces.

Each case is parsed whole, byte by byte and in several seeded random splits,
and must give the same outcome every time: the requests of a valid case
followed by a clean close, or the refusal (class and status) of an invalid
case with exactly the requests stated before it and nothing after it.
"""

import time

import pytest

from tests.parser_harness import (
    byte_by_byte,
    events_after_error,
    load_cases,
    parse,
    random_pieces,
    whole,
)
from unicorn.http import errors
from unicorn.http.parser import NEED_DATA, Data, EndOfMessage, Request, RequestParser

VALID = load_cases("valid")
INVALID = load_cases("invalid")
SEEDS = range(5)
SPLITS = ["whole", "bytewise", *(f"random{seed}" for seed in SEEDS)]


def splits(raw: bytes) -> dict[str, list[bytes]]:
    """The ways each case is cut: whole, byte by byte, and seeded random pieces."""
    ways = {"whole": whole(raw), "bytewise": byte_by_byte(raw)}
    for seed in SEEDS:
        ways[f"random{seed}"] = random_pieces(raw, seed)
    return ways


def test_corpus_is_large_enough():
    assert len(VALID) >= 60 and len(INVALID) >= 80


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_case(case, split):
    outcome = parse(splits(case.raw)[split])
    assert outcome.error is None, f"refused with {outcome.error}"
    assert outcome.messages == case.expected_requests()
    assert outcome.closed, "a clean close after the last request must give CLOSED"


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_case(case, split):
    outcome = parse(splits(case.raw)[split])
    assert (outcome.error, outcome.status) == (case.expect["error"], case.expect["status"])
    assert outcome.messages == case.expected_requests()


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_error_classes_carry_their_status(case):
    """The .expect file's status is the one its exception class declares."""
    error_class = getattr(errors, case.expect["error"])
    assert issubclass(error_class, errors.HTTPError)
    assert error_class.status == case.expect["status"]


def test_nothing_is_parsed_after_a_refusal():
    """Once a request is refused, asking again must not yield what follows it.

    A worker closes the connection after an HTTPError, but the parser should
    not depend on that: the bytes after a refused request are exactly where a
    smuggled request hides (see invalid/*smuggle*).
    """
    leaks = {}
    for case in INVALID:
        later = events_after_error(whole(case.raw))
        if later:
            leaks[case.name] = [type(event).__name__ for event in later]
    examples = dict(list(leaks.items())[:5])
    assert not leaks, f"{len(leaks)} refused cases hand out later events, e.g. {examples}"


# -- end of input ----------------------------------------------------------------


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_truncated_valid_case(case):
    """Closing early gives IncompleteRequest, or CLOSED exactly between requests.

    Every prefix is tried (at most about 300 of them for the long cases). A
    prefix that ends cleanly must leave a rest that parses, on its own, into
    exactly the requests still expected.
    """
    expected = case.expected_requests()
    raw = case.raw
    step = max(1, len(raw) // 300)
    for end in [*range(0, len(raw), step), len(raw) - 1]:
        outcome = parse([raw[:end]])
        done = len(outcome.messages)
        assert outcome.messages == expected[:done], f"prefix of {end} bytes"
        if outcome.closed:
            assert outcome.error is None
            rest = parse([raw[end:]])
            assert (rest.error, rest.messages) == (None, expected[done:]), f"split at {end}"
        else:
            assert outcome.error == "IncompleteRequest", f"prefix of {end} bytes: {outcome.error}"
            assert done < len(expected) or raw[end:].strip(b"\r\n") == b"", f"prefix of {end}"


@pytest.mark.parametrize("case", [case for case in VALID if case.expected_requests()],
                         ids=lambda case: case.name)
def test_last_byte_missing_is_incomplete(case):
    outcome = parse([case.raw[:-1]])
    assert outcome.error == "IncompleteRequest"
    assert outcome.messages == case.expected_requests()[:-1]


def test_clean_close_on_a_fresh_connection():
    assert parse([]).closed
    assert parse([b"\r\n"]).closed


def test_waits_without_close():
    """Without the end of input a truncated request is simply not finished yet."""
    outcome = parse([b"GET / HTTP/1.1\r\nHost: example.com\r\n"], close=False)
    assert (outcome.error, outcome.messages, outcome.closed) == (None, [], False)


def test_each_piece_is_answered_at_once():
    """Events come as soon as their bytes are there, not at the end of input."""
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
    assert isinstance(parser.next_event(), Request)
    assert parser.next_event() == Data(b"hello")
    assert parser.next_event() is NEED_DATA
    parser.feed(b"world")
    assert parser.next_event() == Data(b"world")
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is NEED_DATA


def test_trailer_section_is_scanned_once():
    """Trailers arriving in small pieces cost linear time, as the head does.

    300 KB of trailer fields in 100-byte pieces: a parser that rescans the
    whole trailer buffer on every piece does about 3000 scans of up to
    300 KB each and needs seconds; scanning only the new bytes takes
    milliseconds. The bound leaves a wide margin for slow machines.
    """
    fields = b"".join(b"X-T%d: %s\r\n" % (i, b"v" * 3300) for i in range(90))
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
    assert parser.next_event() is not NEED_DATA
    deadline = time.perf_counter() + 1.5
    for offset in range(0, len(fields), 100):
        parser.feed(fields[offset:offset + 100])
        assert parser.next_event() is NEED_DATA
        assert time.perf_counter() < deadline, f"still scanning after {offset} bytes"
    parser.feed(b"\r\n")
    assert len(parser.next_event().trailers) == 90
