"""Lab 9's tests: labs/09-threads/starter/server.py, run as a process and spoken to over sockets.

One part at a time:  python -m pytest labs/09-threads/tests -k test_09c_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/09-threads/tests
"""

import socket
import time

from unicorn.labs.testing import DEADLINE, Book, Response, connect, parse_response

book = Book(__file__)

KEEP_ALIVE, POOL, IDLE = ("Keep-alive: why a connection comes back", "In a thread, and back",
                          "A slow client must not own a thread")
# How soon a client must be answered while other clients sit idle: far less than the
# keep-alive timeout the server runs with in those tests.
PROMPTLY = 1.5


def request(target: str = "/", version: str = "HTTP/1.1", extra: str = "") -> bytes:
    """A GET with no Connection field unless `extra` adds one: HTTP/1.1 keeps the connection."""
    return f"GET {target} {version}\r\nHost: lab\r\n{extra}\r\n".encode("latin-1")


class Server:
    """The implementation's server.py, running and listening on a port the kernel chose."""

    def __init__(self, impl, start, threads: int, keep_alive: int) -> None:
        argv = [*impl.command("server"), "-b", "127.0.0.1:0", "--threads", str(threads),
                "--keep-alive", str(keep_alive)]
        self.process = start(argv, impl.environment())
        found = self.process.wait_for_lines(r"Listening at: http://([0-9.]+):(\d+)")
        assert found, book.says(f"the server did not say 'Listening at:'; it said: "
                                f"{self.process.last_lines()}", KEEP_ALIVE)
        self.address = (found[0].group(1), int(found[0].group(2)))

    def connect(self, section: str, timeout: float = DEADLINE) -> "Client":
        try:
            return Client(connect(self.address, timeout))
        except OSError as error:
            raise AssertionError(book.says(f"could not connect ({error}); the server said: "
                                           f"{self.process.last_lines()}", section)) from None


class Client:
    """One connection, read one response at a time (framed by Content-Length)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def send(self, data: bytes, section: str = KEEP_ALIVE) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:  # reset, or a broken pipe: the server closed on us
            raise AssertionError(book.says(f"could not send {data[:30]!r}... on this connection "
                                           f"({error})", section)) from None

    def _fill(self) -> bool:
        """Read more; False when the server closed the connection."""
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def response(self, section: str, what: str = "a response", why: str = "") -> Response:
        """The next response on this connection; a timeout or a close before it fails the test."""
        started = time.monotonic()
        try:
            while b"\r\n\r\n" not in self.buffer:
                if not self._fill():
                    raise AssertionError(book.says(
                        f"the server closed the connection instead of sending {what} "
                        f"(got {self.buffer[:60]!r})", section))
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = int(parse_response(head + b"\r\n\r\n").headers.get("content-length", 0))
            while len(rest) < length:
                if not self._fill():
                    break
                head, _, rest = self.buffer.partition(b"\r\n\r\n")
        except TimeoutError:
            raise AssertionError(book.says(
                f"{what} did not come within {time.monotonic() - started:.1f}s{why}",
                section)) from None
        except ConnectionResetError:
            raise AssertionError(book.says(f"the server reset the connection instead of sending "
                                           f"{what}", section)) from None
        self.buffer = rest[length:]
        return parse_response(head + b"\r\n\r\n" + rest[:length], closed=False)

    def closed_within(self, seconds: float) -> float | None:
        """How long until the server closes the connection; None if it is still open after
        `seconds`. Bytes that arrive meanwhile are kept in the buffer."""
        started = time.monotonic()
        self.sock.settimeout(seconds)
        try:
            while self._fill():
                pass
        except TimeoutError:
            return None
        except ConnectionResetError:
            pass
        return time.monotonic() - started


def assert_hello(response: Response, query: str, section: str) -> None:
    want = f"hello {query}\n".encode()
    assert (response.status, response.body) == (200, want), book.expected(
        f"200 and {want!r}", response.raw[-80:], section)


# --- Part a: keep-alive -----------------------------------------------------------------------


def test_09a_two_requests_on_one_connection(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    with server.connect(KEEP_ALIVE) as client:
        for query in ("first", "second", "third"):
            client.send(request(f"/?{query}"))
            assert_hello(client.response(KEEP_ALIVE, f"a response to the {query} request on "
                                                     "the same connection"), query, KEEP_ALIVE)


def test_09a_pipelined_requests_are_answered_in_order(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    with server.connect(KEEP_ALIVE) as client:
        client.send(request("/?1") + request("/?2") + request("/?3"))  # one packet, three requests
        for query in ("1", "2", "3"):
            assert_hello(client.response(KEEP_ALIVE, f"the response to pipelined request "
                                                     f"{query}"), query, KEEP_ALIVE)


def test_09a_connection_close_is_honoured(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    with server.connect(KEEP_ALIVE) as client:
        client.send(request("/?bye", extra="Connection: close\r\n"))
        assert_hello(client.response(KEEP_ALIVE), "bye", KEEP_ALIVE)
        took = client.closed_within(PROMPTLY)
        assert took is not None, book.says(
            f"the connection was still open {PROMPTLY}s after a response to a request that said "
            "'Connection: close'", KEEP_ALIVE)


def test_09a_http_1_0_closes_by_default(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    with server.connect(KEEP_ALIVE) as client:
        client.send(request("/?old", version="HTTP/1.0"))
        assert_hello(client.response(KEEP_ALIVE), "old", KEEP_ALIVE)
        assert client.closed_within(PROMPTLY) is not None, book.says(
            f"the connection was still open {PROMPTLY}s after an HTTP/1.0 request without "
            "'Connection: keep-alive'", KEEP_ALIVE)


def test_09a_idle_connection_is_closed_after_keep_alive(impl, start):
    server = Server(impl, start, threads=2, keep_alive=1)
    with server.connect(KEEP_ALIVE) as client:
        client.send(request("/?once"))
        assert_hello(client.response(KEEP_ALIVE), "once", KEEP_ALIVE)
        took = client.closed_within(4)
    assert took is not None, book.says(
        "an idle connection was still open 4s after its response, with --keep-alive 1",
        KEEP_ALIVE)
    assert took >= 0.5, book.expected("the idle connection kept for about 1s (--keep-alive 1)",
                                      f"closed after {took:.2f}s", KEEP_ALIVE)


# --- Part b: a pool of threads -----------------------------------------------------------------


def together(server: Server, directory, clients: int, count: int, wait: float) -> list[bytes]:
    """Send `clients` requests for /together at once, each on its own connection; the bodies."""
    target = f"/together?dir={directory}&n={count}&wait={wait}"
    connections = [server.connect(POOL) for _ in range(clients)]
    try:
        for client in connections:
            client.send(request(target, extra="Connection: close\r\n"), POOL)
        return [client.response(POOL, f"the answer to GET {target}").body
                for client in connections]
    finally:
        for client in connections:
            client.sock.close()


def test_09b_n_threads_serve_n_requests_at_once(impl, start, short_tmp):
    server = Server(impl, start, threads=3, keep_alive=5)
    bodies = together(server, short_tmp, clients=3, count=3, wait=5)
    assert bodies == [b"together\n"] * 3, book.expected(
        "3 requests inside the app at once with --threads 3 (all 'together')", bodies, POOL)


def test_09b_no_more_than_n_at_once(impl, start, short_tmp):
    server = Server(impl, start, threads=2, keep_alive=5)
    bodies = together(server, short_tmp, clients=3, count=3, wait=0.6)
    assert b"together\n" not in bodies, book.expected(
        "never 3 requests inside the app at once with --threads 2 (all 'alone')", bodies, POOL)


# --- Part c: idle clients hold no thread --------------------------------------------------------


def served_while_others_idle(server: Server, idle: list[Client]) -> None:
    """With every thread's worth of clients idle, a new client is still answered promptly."""
    with server.connect(IDLE, timeout=PROMPTLY) as client:
        client.send(request("/?third", extra="Connection: close\r\n"), IDLE)
        response = client.response(IDLE, "an answer", f" while {len(idle)} idle clients held "
                                   "their connections: an idle client must not own a thread")
        assert_hello(response, "third", IDLE)
    for other in idle:
        other.sock.close()


def test_09c_silent_clients_do_not_hold_threads(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    idle = [server.connect(IDLE) for _ in range(2)]  # connected, and never a byte
    served_while_others_idle(server, idle)


def test_09c_half_a_head_does_not_hold_a_thread(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    idle = [server.connect(IDLE) for _ in range(2)]
    for client in idle:
        client.send(b"GET /?slow HTTP/1.1\r\nHost: lab\r\n", IDLE)  # and never the blank line
    served_while_others_idle(server, idle)


def test_09c_kept_alive_connections_do_not_hold_threads(impl, start):
    server = Server(impl, start, threads=2, keep_alive=5)
    idle = [server.connect(IDLE) for _ in range(2)]
    for client in idle:
        client.send(request("/?kept"), IDLE)
        assert_hello(client.response(IDLE), "kept", IDLE)  # and now silent, connection kept
    served_while_others_idle(server, idle)
