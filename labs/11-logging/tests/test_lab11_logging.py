"""Lab 11's tests: access lines from accesslog.py, and a LogFile (logfile.py) that follows
its name after a rename and USR1, called directly and inside the lab's server.

One part at a time:  python -m pytest labs/11-logging/tests -k test_11a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/11-logging/tests
"""

import base64
import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.labs.testing import DEADLINE, Book, exchange, get

book = Book(__file__)

ACCESS, ESCAPING = "The access log", "Escaping: the client writes part of your log"
ROTATING = "Rotating a log file: USR1"

COMBINED = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
ENVIRON = {
    "REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "GET", "RAW_URI": "/a?b=1",
    "PATH_INFO": "/a", "QUERY_STRING": "b=1", "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_REFERER": "http://example.com/", "HTTP_USER_AGENT": "curl/8.0",
    "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:secret").decode(),
    "HTTP_X_REQUEST_ID": "r-42", "CONTENT_TYPE": "application/json",
}
HEADERS = [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


@pytest.fixture(scope="module")
def accesslog(impl):
    return impl.load("accesslog")


def line(accesslog, log_format: str, environ: dict | None = None, status: str = "200 OK",
         headers=None, sent: int | None = 14, request_time: float = 0.0123) -> str:
    return accesslog.access_line(log_format, ENVIRON if environ is None else environ, status,
                                 HEADERS if headers is None else headers, sent, request_time)


# --- Part a: access log lines ----------------------------------------------------------------


def test_11a_the_combined_format(accesslog):
    got = line(accesslog, COMBINED)
    match = re.fullmatch(r'10\.0\.0\.7 - alice \[([^]]+)\] "GET /a\?b=1 HTTP/1\.1" 200 14 '
                         r'"http://example\.com/" "curl/8\.0"', got)
    assert match, book.expected('10.0.0.7 - alice [TIME] "GET /a?b=1 HTTP/1.1" 200 14 '
                                '"http://example.com/" "curl/8.0"', got, ACCESS)
    try:
        when = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        raise AssertionError(book.expected("%(t)s as [21/Nov/2026:10:00:00 +0000]",
                                           match.group(1), ACCESS)) from None
    late = abs(datetime.now(UTC) - when)
    assert late < timedelta(minutes=2), book.expected("%(t)s: the time now", when, ACCESS)


WITHOUT_RAW_URI = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "QUERY_STRING": "y=1",
                   "SERVER_PROTOCOL": "HTTP/1.0"}


@pytest.mark.parametrize("log_format, environ, status, sent, want", [
    ("%(h)s|%(l)s|%(s)s|%(b)s", ENVIRON, "404 Not Found", 0, "10.0.0.7|-|404|0"),
    ("%(b)s", ENVIRON, "500 Internal Server Error", None, "-"),
    ("%(u)s %(f)s %(a)s", {}, "200 OK", 1, "- - -"),
    ("%(u)s", {"HTTP_AUTHORIZATION": "Bearer abc"}, "200 OK", 1, "-"),
    ("%(u)s", {"HTTP_AUTHORIZATION": "Basic not-base64!"}, "200 OK", 1, "-"),
    ("%(r)s", WITHOUT_RAW_URI, "200 OK", 1, "POST /x?y=1 HTTP/1.0"),
    ("%(r)s", dict(WITHOUT_RAW_URI, QUERY_STRING=""), "200 OK", 1, "POST /x HTTP/1.0"),
    ("%(M)sms", ENVIRON, "200 OK", 1, "12ms"),
    ("%({x-request-id}i)s %({X-Request-Id}i)s %({content-type}i)s %({x-missing}i)s", ENVIRON,
     "200 OK", 1, "r-42 r-42 application/json -"),
    ("%({content-type}o)s|%({set-cookie}o)s|%({etag}o)s", ENVIRON, "200 OK", 1,
     "text/plain|a=1, b=2|-"),
    ("%(nosuch)s %({x}z)s", ENVIRON, "200 OK", 1, "- -"),
])
def test_11a_atoms(accesslog, log_format, environ, status, sent, want):
    got = line(accesslog, log_format, environ, status, sent=sent)
    assert got == want, book.expected(f"{log_format!r} -> {want!r}", got, ACCESS)


@pytest.mark.parametrize("agent, want", [
    ('say "hi"', r'say \"hi\"'),
    ("caf\xc3\xa9", r"caf\xc3\xa9"),  # the two UTF-8 bytes of é, as WSGI's latin-1 holds them
    ("a\nb\rc\td", r"a\x0ab\x0dc\x09d"),
    ("back\\slash", r"back\\slash"),
    ("\x1b[31mred\x7f", r"\x1b[31mred\x7f"),
    ("plain text, (with) [brackets]", "plain text, (with) [brackets]"),
])
def test_11a_client_text_is_escaped(accesslog, agent, want):
    got = line(accesslog, '"%(a)s" "%({user-agent}i)s" "%(r)s"',
               dict(ENVIRON, HTTP_USER_AGENT=agent, RAW_URI=f"/{agent}"))
    expected = f'"{want}" "{want}" "GET /{want} HTTP/1.1"'
    assert got == expected, book.expected(expected, got, ESCAPING)


UNESCAPE = re.compile(r"\\(x[0-9a-f]{2}|.)")


def unescape(text: str) -> str:
    return UNESCAPE.sub(lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 3 else m[1], text)


@given(agent=st.text(st.characters(max_codepoint=255), max_size=40))
def test_11a_any_user_agent_stays_one_quoted_field(accesslog, agent):
    got = line(accesslog, '%(h)s "%(a)s" %(s)s', dict(ENVIRON, HTTP_USER_AGENT=agent))
    match = re.fullmatch(r'10\.0\.0\.7 "((?:[^"\\]|\\.)*)" 200', got)
    good = match is not None and got.isascii() and got.isprintable()
    assert good and unescape(match[1]) == agent, book.expected(
        f"one line of printable ASCII, the agent {agent!r} in one quoted field, recoverable",
        got, ESCAPING)


# --- LogFile, called directly ------------------------------------------------------------------


@pytest.fixture
def open_log(impl):
    """open_log(path) -> the implementation's LogFile(path); every one is closed at teardown."""
    code, opened = impl.load("logfile"), []

    def open_(path: Path):
        log = code.LogFile(str(path))
        opened.append(log)
        return log

    yield open_
    for log in opened:
        log.close()


def assert_holds(path: Path, lines: list[str], section: str, why: str) -> None:
    got = path.read_text().splitlines() if path.is_file() else None
    assert got == lines, book.says(f"{why}: expected {path.name} to hold {lines}, got {got}",
                                   section)


def test_11b_lines_are_appended_and_flushed(open_log, tmp_path):
    path = tmp_path / "access.log"
    path.write_text("earlier\n")
    log = open_log(path)
    log.write("one")
    log.write("two")
    assert_holds(path, ["earlier", "one", "two"], ROTATING, "append, one line per write, flushed")


def test_11b_rename_then_reopen(open_log, tmp_path):
    path, old = tmp_path / "access.log", tmp_path / "access.log.1"
    log = open_log(path)
    log.write("before")
    path.rename(old)
    log.write("after-mv")
    assert not path.exists(), book.says("a new access.log appeared before reopen(): the file "
                                        "must stay open, not be opened per line", ROTATING)
    log.reopen()
    log.write("after-reopen")
    assert_holds(old, ["before", "after-mv"], ROTATING, "an open file follows the rename")
    assert_holds(path, ["after-reopen"], ROTATING, "reopen() opens the name anew")


def test_11b_reopen_without_rename_appends(open_log, tmp_path):
    path = tmp_path / "access.log"
    log = open_log(path)
    log.write("one")
    log.reopen()
    log.write("two")
    assert_holds(path, ["one", "two"], ROTATING, "reopen() must append, not truncate")


def test_11c_reopen_onto_a_directory_keeps_the_old_file(open_log, tmp_path):
    path, old = tmp_path / "access.log", tmp_path / "access.log.1"
    log = open_log(path)
    log.write("one")
    path.rename(old)
    path.mkdir()  # the new name cannot be opened as a file (root or not)
    try:
        log.reopen()
        log.write("two")
    except Exception as error:
        raise AssertionError(book.says(f"a failed reopen raised {error!r}", ROTATING)) from None
    assert_holds(old, ["one", "two"], ROTATING, "a failed reopen keeps the old file")
    path.rmdir()
    log.reopen()
    log.write("three")
    assert_holds(path, ["three"], ROTATING, "the next reopen, once it can, opens the name")


def test_11c_reopen_with_its_directory_gone_keeps_the_old_file(open_log, tmp_path):
    directory = tmp_path / "logs"
    directory.mkdir()
    log = open_log(directory / "access.log")
    log.write("one")
    directory.rename(tmp_path / "logs.old")
    try:
        log.reopen()
        log.write("two")
    except Exception as error:
        raise AssertionError(book.says(f"a failed reopen raised {error!r}", ROTATING)) from None
    assert_holds(tmp_path / "logs.old" / "access.log", ["one", "two"], ROTATING,
                 "a failed reopen keeps the old file")


# --- The lab's server: rotate its log while it serves ---------------------------------------


class Server:
    """The implementation's server.py with --access-logfile `path`, listening."""

    def __init__(self, impl, start, path: Path) -> None:
        self.path = path
        self.process = start(impl.command("server") + ["--access-logfile", str(path)],
                             impl.environment())
        found = self.process.wait_for_lines(r"Listening at: http://([0-9.]+):(\d+)")
        assert found, book.says(f"the server did not start: {self.process.last_lines()}",
                                ROTATING)
        self.address = (found[0].group(1), int(found[0].group(2)))
        self.sent = 0

    def request(self) -> int:
        """GET /r/N for the next N; return N once the server has answered."""
        number, self.sent = self.sent, self.sent + 1
        try:
            response = exchange(self.address, get(f"/r/{number}"))
        except OSError as error:
            said = self.process.last_lines()
            raise AssertionError(book.says(f"request {number} failed ({error}); the server "
                                           f"said: {said}", ROTATING)) from None
        assert response.status == 200, book.expected(200, response.raw, ROTATING)
        return number


def logged(path: Path) -> list[int]:
    """The N of every /r/N line in the file at `path`, in order ([] if there is no file)."""
    try:
        text = path.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return []
    return [int(number) for number in re.findall(r"GET /r/(\d+) ", text)]


def wait_until(condition, timeout: float = DEADLINE) -> bool:
    """Poll `condition` until it is true or the deadline passes; a line is written just after
    its response is sent, so a file lags its answers by a moment."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_11b_a_rename_alone_does_not_move_the_server(impl, start, tmp_path):
    server = Server(impl, start, tmp_path / "access.log")
    server.request()
    wait_until(lambda: logged(server.path) == [0])
    server.path.rename(tmp_path / "access.log.1")
    server.request()
    server.request()
    wait_until(lambda: logged(tmp_path / "access.log.1") == [0, 1, 2])
    assert logged(tmp_path / "access.log.1") == [0, 1, 2], book.expected(
        "requests 0-2 in access.log.1", logged(tmp_path / "access.log.1"), ROTATING)
    assert not server.path.exists(), book.says("access.log came back without USR1", ROTATING)


def test_11b_usr1_during_a_burst_loses_no_line(impl, start, tmp_path):
    server, old = Server(impl, start, tmp_path / "access.log"), tmp_path / "access.log.1"
    for _ in range(20):
        server.request()
    server.path.rename(old)
    os.kill(server.process.popen.pid, signal.SIGUSR1)
    deadline = time.monotonic() + DEADLINE
    while not logged(server.path) and time.monotonic() < deadline:  # requests go on meanwhile
        server.request()
    switched = server.sent
    for _ in range(10):
        server.request()
    everything = list(range(server.sent))
    wait_until(lambda: sorted(logged(old) + logged(server.path)) == everything)
    before, after = logged(old), logged(server.path)
    assert sorted(before + after) == everything, book.expected(
        f"each of requests 0-{server.sent - 1} once, in access.log.1 or access.log",
        f"access.log.1 {before}, access.log {after}", ROTATING)
    assert before == list(range(len(before))) and len(before) >= 20 and after, book.expected(
        "access.log.1 = 0, 1, ..., k and access.log = k+1, ... (the switch happens once)",
        f"access.log.1 {before}, access.log {after}", ROTATING)
    assert after[-10:] == everything[switched:], book.expected(
        "every request after the first line in the new file in the new file too",
        f"access.log {after}", ROTATING)


def test_11c_the_server_survives_a_failed_reopen(impl, start, tmp_path):
    server, old = Server(impl, start, tmp_path / "access.log"), tmp_path / "access.log.1"
    server.request()
    server.path.rename(old)
    server.path.mkdir()
    os.kill(server.process.popen.pid, signal.SIGUSR1)
    reported = server.process.wait_for_lines("Cannot reopen")
    assert reported, book.says("no 'Cannot reopen' line after USR1 when access.log is a "
                               f"directory; the server said: {server.process.last_lines()}",
                               ROTATING)
    for _ in range(5):
        server.request()
    wait_until(lambda: logged(old) == list(range(6)))
    assert logged(old) == list(range(6)), book.expected(
        "requests 0-5 in access.log.1, the old file", logged(old), ROTATING)
    assert server.process.popen.poll() is None, book.says("the server exited after a failed "
                                                          "reopen", ROTATING)
