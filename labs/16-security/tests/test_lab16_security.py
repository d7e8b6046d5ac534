"""Lab 16's tests: your corpus, your checker and your probe, run against unicorn and a lax server.

Part a reads the corpus (security.CORPUS) and sends each case to `python -m unicorn -k gthread`.
Part b runs hidden_request_answered against unicorn and against LaxServer (lab16_support.py),
which must be caught. Part c runs slowloris against a one-worker sync unicorn, which it must
starve, and a one-worker threaded unicorn, which it must not.

One part at a time:  python -m pytest labs/16-security/tests -k test_16a_
Against the reference: LAB_IMPL=reference python -m pytest labs/16-security/tests
"""

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from unicorn.labs.testing import DEADLINE, Book, connect, parse_response

book = Book(__file__)

# Sections of book/16-security.md that the failure messages point to.
SHAPES = "The shapes of a smuggled request"
CORPUS = "The corpus"
SAYS_NO = "The code that says no"
SLOW = "Slow clients"

TESTS_DIR = Path(__file__).parent
sys.path.insert(0, str(TESTS_DIR))
from lab16_support import LaxServer, decode, read_expected  # noqa: E402

# The smallest corpus that counts as one.
AT_LEAST = 12


def has_field(raw: bytes, name: bytes) -> int:
    """Where the first field line `name` begins in `raw`, or -1 (any case, any line ending)."""
    found = re.search(rb"\n" + re.escape(name) + rb"[ \t]*:", raw, re.IGNORECASE)
    return found.start() if found else -1


# Each class a corpus must cover: its file name prefix, what its refused case must contain.
CLASSES: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "cl_te_": ("Content-Length, then Transfer-Encoding",
               lambda raw: -1 < has_field(raw, b"content-length")
               < has_field(raw, b"transfer-encoding")),
    "te_cl_": ("Transfer-Encoding, then Content-Length",
               lambda raw: -1 < has_field(raw, b"transfer-encoding")
               < has_field(raw, b"content-length")),
    "duplicate_cl_": ("two Content-Length fields",
                      lambda raw: len(re.findall(rb"\ncontent-length[ \t]*:", raw, re.I)) >= 2),
    "obs_fold_": ("a header line that starts with a space or a tab",
                  lambda raw: re.search(rb"\n[ \t][^\r\n]", raw.partition(b"\r\n\r\n")[0])),
    "bad_chunk_size_": ("Transfer-Encoding: chunked", lambda raw: b"chunked" in raw.lower()),
    "nul_": ("a NUL byte (\\x00)", lambda raw: b"\x00" in raw),
    "bare_lf_": ("an LF without its CR", lambda raw: re.search(rb"(?<!\r)\n", raw)),
    "space_before_colon_": ("a field name followed by a space or tab before its colon",
                            lambda raw: re.search(rb"\n[!#-'*+.0-9A-Z^_`a-z|~-]+[ \t]+:", raw)),
}


class Case:
    """One corpus case: its name, its bytes, and the status unicorn must answer."""

    def __init__(self, http: Path) -> None:
        self.name = http.stem
        expect = http.with_suffix(".expect")
        if not expect.exists():
            raise AssertionError(book.says(f"{http.name} has no {expect.name} beside it", CORPUS))
        try:
            self.raw = decode(http.read_text(encoding="ascii"))
            self.status = read_expected(expect)["status"]
        except (ValueError, SyntaxError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise AssertionError(book.says(f"case {self.name} cannot be read: {error}",
                                           CORPUS)) from None
        if not isinstance(self.status, int):
            raise AssertionError(book.expected(f"an int status in {expect.name}", self.status,
                                               CORPUS))

    @property
    def refused(self) -> bool:
        return self.status >= 400


@pytest.fixture
def security(impl):
    return impl.load("security")


@pytest.fixture
def corpus(security) -> list[Case]:
    cases = [Case(path) for path in sorted(Path(security.CORPUS).glob("*.http"))]
    assert cases, book.says(f"the corpus in {security.CORPUS} is empty: write NAME.http and "
                            "NAME.expect pairs there (part a)", CORPUS)
    return cases


def serve_with_unicorn(start, impl, *options: str) -> tuple[str, int]:
    """`python -m unicorn OPTIONS -b 127.0.0.1:0 lab16_app:app`; its address once it listens."""
    command = [sys.executable, "-m", "unicorn", *options, "-b", "127.0.0.1:0", "lab16_app:app"]
    server = start(command, impl.environment(TESTS_DIR), TESTS_DIR)
    found = server.wait_for_lines(r"Listening at: http://([0-9.]+):([0-9]+)")
    assert found, f"unicorn did not start; it said: {server.last_lines()}"
    return found[0].group(1), int(found[0].group(2))


@pytest.fixture
def threaded(start, impl) -> tuple[str, int]:
    """unicorn's threaded worker: it answers pipelined requests, so hidden ones would show."""
    return serve_with_unicorn(start, impl, "-k", "gthread", "--threads", "2", "-w", "1")


@pytest.fixture
def lax():
    server = LaxServer()
    yield server.address
    server.close()


def first_status(address: tuple[str, int], raw: bytes) -> int | None:
    """Send `raw`; the status of the first response, once its head has arrived."""
    with connect(address, 3.0) as sock:
        try:
            sock.sendall(raw)
        except OSError:
            pass  # refused and closed before all was sent: the answer is still to be read
        received = b""
        while b"\r\n\r\n" not in received:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            received += data
    return parse_response(received).status


# --- Part a: the corpus ----------------------------------------------------------------------


def test_16a_the_corpus_has_a_dozen_readable_cases(corpus):
    names = [case.name for case in corpus]
    assert len(corpus) >= AT_LEAST, book.expected(f"at least {AT_LEAST} cases", names, CORPUS)


def test_16a_the_corpus_covers_every_class(corpus):
    for prefix, (what, shows) in CLASSES.items():
        cases = [case for case in corpus if case.name.startswith(prefix)]
        assert cases, book.says(f"no case named {prefix}*: write one with {what}", SHAPES)
        good = [case for case in cases if case.refused and shows(case.raw)]
        assert good, book.expected(
            f"a {prefix}* case with {what}, which a strict server refuses (status 4xx or 5xx)",
            {case.name: case.status for case in cases}, SHAPES)


def test_16a_unicorn_answers_every_case_as_the_corpus_says(corpus, threaded):
    answers = {case.name: first_status(threaded, case.raw) for case in corpus}
    wrong = {case.name: (case.status, answers[case.name]) for case in corpus
             if answers[case.name] != case.status}
    assert not wrong, book.says(
        f"unicorn answered {len(wrong)} case(s) otherwise, as (expected, got): {wrong}", SHAPES)


# --- Part b: nothing after a refusal ---------------------------------------------------------

CL_TE = (b"POST /a HTTP/1.1\r\nHost: lab\r\nContent-Length: 39\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: lab\r\n\r\n")
SPACE = (b"POST /a HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n")
SMUGGLES = pytest.mark.parametrize("raw", [pytest.param(CL_TE, id="CL.TE"),
                                           pytest.param(SPACE, id="space before the colon")])


@SMUGGLES
def test_16b_the_lax_server_is_caught(security, lax, raw):
    answered = security.hidden_request_answered(lax, raw)
    assert answered is True, book.expected(
        f"True: the lax server answers what follows {raw[:40]!r}...", answered, SAYS_NO)


@SMUGGLES
def test_16b_unicorn_answers_nothing_after_a_refusal(security, threaded, raw):
    answered = security.hidden_request_answered(threaded, raw)
    assert answered is False, book.expected(
        f"False: unicorn refuses {raw[:40]!r}... and closes", answered, SAYS_NO)


def test_16b_a_valid_request_and_the_one_behind_it_are_both_answered(security, threaded):
    raw = b"GET /first HTTP/1.1\r\nHost: lab\r\n\r\n"
    answered = security.hidden_request_answered(threaded, raw)
    assert answered is True, book.expected(
        "True: unicorn's threaded worker answers two pipelined requests (RFC 9112 §9.3.2); "
        "the checker must see the second answer", answered, SAYS_NO)


def test_16b_nothing_after_a_refusal_in_your_corpus(security, corpus, threaded):
    refused = [case for case in corpus if case.refused]
    assert refused, book.says("the corpus has no refused case (part a)", CORPUS)
    leaks = [case.name for case in refused
             if security.hidden_request_answered(threaded, case.raw)]
    assert not leaks, book.expected("no answer after any refused case of the corpus", leaks,
                                    SAYS_NO)


# --- Part c: slowloris -----------------------------------------------------------------------

# unicorn's --timeout in these tests, in seconds, and how long the probe holds the server.
TIMEOUT, HOLD = "2", 1.5


@pytest.fixture
def sync_worker(start, impl) -> tuple[str, int]:
    return serve_with_unicorn(start, impl, "-k", "sync", "-w", "1", "--timeout", TIMEOUT)


@pytest.fixture
def thread_worker(start, impl) -> tuple[str, int]:
    return serve_with_unicorn(start, impl, "-k", "gthread", "--threads", "1", "-w", "1",
                              "--timeout", TIMEOUT)


def test_16c_slowloris_starves_a_sync_worker(security, sync_worker):
    starved = security.slowloris(sync_worker, 2, HOLD)
    assert starved is True, book.expected(
        f"True: two trickling clients hold unicorn's only sync worker for {HOLD} s",
        starved, SLOW)


def test_16c_slowloris_does_not_starve_a_threaded_worker(security, thread_worker):
    started = time.monotonic()
    starved = security.slowloris(thread_worker, 2, HOLD)
    assert starved is False, book.expected(
        "False: the threaded worker collects heads in its event loop and answers the "
        "ordinary request at once", starved, SLOW)
    assert time.monotonic() - started < HOLD, book.says(
        "the probe waited out its whole time although the ordinary request was answered", SLOW)


def test_16c_a_trickling_client_holds_a_sync_worker(security, sync_worker):
    answer = security.slow_client(sync_worker, 1.0)
    assert answer == b"", book.expected(
        "no answer at all within 1 s: the sync worker waits for the end of the head",
        answer, SLOW)


def test_16c_the_threaded_worker_answers_a_trickle_with_408(security, thread_worker):
    started = time.monotonic()
    answer = security.slow_client(thread_worker, DEADLINE)
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), book.expected(
        f"408 Request Timeout after --timeout {TIMEOUT} s", answer, SLOW)
    assert took < DEADLINE - 1, book.says(
        f"slow_client went on for {took:.1f} s after the server had answered", SLOW)
