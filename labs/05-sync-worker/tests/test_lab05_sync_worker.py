"""Lab 5's tests: labs/05-sync-worker/starter/server.py run as a process, and clients over TCP.

Every test starts its own server, `server.py -b 127.0.0.1:0 lab05_apps:app` (unicorn: `python -m
unicorn -k sync -w 1 ...`), waits for its "Listening at:" line, and kills it at the end.
Ordering is read from the app's own log (lab05_apps.py), never from how long things took.

One part at a time:  python -m pytest labs/05-sync-worker/tests -k test_05a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/05-sync-worker/tests
"""

import hashlib
import socket
import time
from pathlib import Path

import pytest

from unicorn.labs.testing import (
    DEADLINE,
    Book,
    Response,
    connect,
    exchange,
    get,
    parse_response,
    read_until_closed,
)

book = Book(__file__)

# Sections of book/05-sync-worker.md that the failure messages point to.
LOOP, NO_KEEP_ALIVE = "The sync worker's loop", "No keep-alive, on purpose"
TWO_CLIENTS, SLOW = "Two clients, one worker", "A slow client holds the worker"
ONE_REQUEST = "One request: `Worker.handle_request`"

TESTS_DIR = Path(__file__).parent
HELLO = b"Hello, world!\n"
# How long a test listens to make sure that nothing arrives. Not a synchronisation: a server
# that answers early has already answered by then, on any machine that runs these tests.
QUIET = 0.3


class Server:
    """The server under test, its address, and the directory its app writes its log to."""

    def __init__(self, process, address: tuple[str, int], directory: Path) -> None:
        self.process = process
        self.address = address
        self.directory = directory

    def request(self, raw: bytes, section: str) -> Response:
        try:
            return exchange(self.address, raw)
        except OSError as error:
            raise AssertionError(book.says(f"no answer ({error}); the server's last words: "
                                           f"{self.process.last_lines()}", section)) from None

    def log(self) -> list[str]:
        path = self.directory / "log"
        return path.read_text().splitlines() if path.exists() else []

    def wait_for_log(self, line: str) -> bool:
        """Wait, with a deadline, until the app has logged `line`."""
        deadline = time.monotonic() + DEADLINE
        while line not in self.log():
            if time.monotonic() > deadline or self.process.popen.poll() is not None:
                return False
            time.sleep(0.01)
        return True

    def release(self, name: str) -> None:
        """Let the app's /slow?NAME request finish."""
        (self.directory / f"go-{name}").touch()


@pytest.fixture
def server(impl, start, short_tmp) -> Server:
    command = [*impl.command("server"), "-b", "127.0.0.1:0", "lab05_apps:app"]
    environment = dict(impl.environment(TESTS_DIR), LAB05_DIR=str(short_tmp))
    process = start(command, environment)
    found = process.wait_for_lines(r"Listening at: http://([0-9.]+):([0-9]+)")
    assert found, book.says("the server never said 'Listening at: http://HOST:PORT'; it said: "
                            f"{process.last_lines()}", LOOP)
    return Server(process, (found[0].group(1), int(found[0].group(2))), short_tmp)


def send_request(server: Server, raw: bytes) -> socket.socket:
    sock = connect(server.address)
    sock.sendall(raw)
    return sock


def answer(sock: socket.socket) -> Response:
    with sock:
        return parse_response(*read_until_closed(sock))


def nothing_arrives(sock: socket.socket, why: str, section: str) -> bool:
    """True if the server sends nothing on `sock` for QUIET seconds; fail saying `why` if not."""
    sock.settimeout(QUIET)
    try:
        data = sock.recv(1)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(DEADLINE)
    raise AssertionError(book.says(f"{why} (it began {data!r})", section))


def assert_hello(response: Response, section: str, what: str = "GET /hello") -> None:
    assert (response.status, response.body) == (200, HELLO), book.expected(
        f"200 and {HELLO!r} for {what}", response.raw, section)


# --- Part a: one request per connection ------------------------------------------------------


def test_05a_answers_with_content_length_and_closes(server):
    response = server.request(get("/hello"), LOOP)
    assert_hello(response, LOOP)
    length = response.headers.get("content-length")
    assert length == str(len(response.body)), book.expected(
        f"Content-Length: {len(response.body)}", length, LOOP)
    assert response.closed, book.says("the server did not close the connection after the "
                                      "response", LOOP)


def test_05a_no_keep_alive_even_when_the_client_wants_it(server):
    response = server.request(b"GET /hello HTTP/1.1\r\nHost: lab\r\n\r\n", NO_KEEP_ALIVE)
    assert_hello(response, NO_KEEP_ALIVE)
    assert response.headers.get("connection", "").lower() == "close", book.expected(
        "Connection: close (RFC 9112 §9.6: say so before closing)",
        response.headers.get("connection"), NO_KEEP_ALIVE)
    assert response.closed, book.says("an HTTP/1.1 client was kept waiting on an open "
                                      "connection after its response", NO_KEEP_ALIVE)


def test_05a_environ_comes_from_the_request(server):
    response = server.request(get("/environ?x=1&y=2", extra="X-Lab: 5a\r\n"), LOOP)
    want = (b"REQUEST_METHOD=GET\nPATH_INFO=/environ\nQUERY_STRING=x=1&y=2\n"
            b"SERVER_PROTOCOL=HTTP/1.1\nHTTP_HOST=lab\nHTTP_X_LAB=5a")
    assert response.body == want, book.expected(want, response.raw, LOOP)


def test_05a_clients_one_after_another(server):
    for number in range(1, 4):
        assert_hello(server.request(get("/hello"), LOOP), LOOP, f"client {number} of 3")


def test_05a_waits_for_the_whole_head(server):
    sock = send_request(server, b"GET /hello HTTP/1.1\r\nHost: lab\r\n")
    assert nothing_arrives(sock, "an answer came before the blank line that ends the head", LOOP)
    sock.sendall(b"Connection: close\r\n\r\n")
    assert_hello(answer(sock), LOOP, "a head sent in two pieces")


# --- Part b: one client at a time -----------------------------------------------------------


def test_05b_second_client_waits_for_the_first(server):
    first = send_request(server, get("/slow?first"))
    assert server.wait_for_log("begin first"), book.says(
        f"the app never began GET /slow?first; the server said: {server.process.last_lines()}",
        TWO_CLIENTS)
    second = send_request(server, get("/fast?second"))  # the kernel queues it: connect works
    assert nothing_arrives(second, "the second client was answered while the first was still "
                           "being served", TWO_CLIENTS)
    server.release("first")
    replies = [answer(first), answer(second)]
    bodies = [(reply.status, reply.body) for reply in replies]
    assert bodies == [(200, b"first"), (200, b"second")], book.expected(
        [(200, b"first"), (200, b"second")], bodies, TWO_CLIENTS)
    want = ["begin first", "end first", "begin second", "end second"]
    assert server.log() == want, book.expected(
        f"the second request to begin after the first ended, {want}", server.log(), TWO_CLIENTS)


def test_05b_half_sent_head_holds_the_server(server):
    slow = send_request(server, b"GET /fast?slow HTTP/1.1\r\nHost: lab\r\n")
    other = send_request(server, get("/fast?other"))
    assert nothing_arrives(other, "another client was answered while the first had sent half "
                           "its head", SLOW)
    assert server.log() == [], book.expected("no request begun while the first client's head "
                                             "is incomplete", server.log(), SLOW)
    slow.sendall(b"Connection: close\r\n\r\n")
    bodies = [answer(slow).body, answer(other).body]
    assert bodies == [b"slow", b"other"], book.expected([b"slow", b"other"], bodies, SLOW)
    want = ["begin slow", "end slow", "begin other", "end other"]
    assert server.log() == want, book.expected(want, server.log(), SLOW)


def test_05b_clients_that_leave_do_not_stop_the_server(server):
    connect(server.address).close()  # connects and says nothing
    send_request(server, b"GET /hello HTTP/1.1\r\nHo").close()  # leaves in the middle
    reset = connect(server.address)  # leaves with a reset
    reset.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    reset.close()
    assert_hello(server.request(get("/hello"), LOOP), LOOP, "GET /hello after three clients "
                 "that left early")


def test_05b_failing_app_gets_500_and_the_server_goes_on(server):
    response = server.request(get("/fails"), ONE_REQUEST)
    assert response.status == 500, book.expected("500 for an app that raised", response.raw,
                                                 ONE_REQUEST)
    assert_hello(server.request(get("/hello"), ONE_REQUEST), ONE_REQUEST,
                 "GET /hello after an app that raised")


# --- Part c: the request body, and requests that are not HTTP -------------------------------


def digest(body: bytes) -> bytes:
    return f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()


@pytest.mark.parametrize("size", [11, 300_000], ids=["11 bytes", "300 KB"])
def test_05c_body_is_read_by_content_length(server, size):
    body = (b"hello, lab5" * (size // 11 + 1))[:size]
    response = server.request(get("/echo", method="POST", body=body), ONE_REQUEST)
    assert response.body == digest(body), book.expected(
        f"the app to read all {size} bytes ({digest(body).decode()})", response.raw, ONE_REQUEST)


def test_05c_read_without_a_size_ends_with_the_body(server):
    sock = send_request(server, get("/echo-all", method="POST", body=b"hello"))
    # The client keeps its side open, as a browser does: only Content-Length says where the
    # body ends. A wsgi.input that reads the socket until it closes waits forever here.
    response = answer(sock)
    assert response.body == digest(b"hello"), book.expected(
        "wsgi.input.read() to return the 5 bytes of the body and stop", response.raw,
        ONE_REQUEST)


@pytest.mark.parametrize("raw", [
    pytest.param(b"GARBAGE\r\n\r\n", id="not a request line"),
    pytest.param(b"GET /hello HTTP/1.1\r\nHost lab\r\n\r\n", id="a header without a colon"),
    pytest.param(b"POST /echo HTTP/1.1\r\nHost: lab\r\nContent-Length: lots\r\n\r\nhello",
                 id="a Content-Length that is not a number"),
])
def test_05c_malformed_request_gets_400_and_the_server_goes_on(server, raw):
    response = server.request(raw, LOOP)
    assert response.status == 400, book.expected(f"400 for {raw!r}", response.raw, LOOP)
    assert response.closed, book.says("the connection stayed open after a 400", LOOP)
    assert_hello(server.request(get("/hello"), LOOP), LOOP, "GET /hello after a 400")
