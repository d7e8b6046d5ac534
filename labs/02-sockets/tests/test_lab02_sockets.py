"""Lab 2's tests: labs/02-sockets/starter/server.py, over real sockets, and run as a process.

One part at a time:  python -m pytest labs/02-sockets/tests -k test_02a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/02-sockets/tests
"""

import ipaddress
import os
import select
import socket
import stat
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.labs.testing import DEADLINE, Book, connect, get, parse_response

book = Book(__file__)

ONE, ADDRESSES, SEVERAL = ("A server in a dozen lines", "Addresses: what `--bind` accepts",
                           "Creating the listeners")
HELLO = b"Hello, world!\n"
# How long a test waits to be sure that nothing arrives (a response sent too early).
QUIET = 0.3


@pytest.fixture(scope="module")
def code(impl):
    """The server module under test: the starter, or unicorn's adapter (LAB_IMPL)."""
    return impl.load("server")


@pytest.fixture
def listener(code):
    sock = code.open_listener(code.Address("tcp", "127.0.0.1", 0))
    yield sock
    sock.close()


class ServeOne:
    """serve_one(listener) in a thread; its exception, if any, is kept for the message."""

    def __init__(self, code, listener: socket.socket) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(code, listener), daemon=True)
        self.thread.start()

    def _run(self, code, listener) -> None:
        try:
            code.serve_one(listener)
        except BaseException as error:  # reported by the test, not lost in a thread
            self.error = error

    def read_reply(self, sock: socket.socket) -> tuple[bytes, bool]:
        """Read until the server closes; stop early if serve_one died. Returns (bytes, closed)."""
        sock.settimeout(0.05)
        chunks, deadline = [], time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if not self.thread.is_alive():
                    break
                continue
            except ConnectionResetError:
                return b"".join(chunks), True
            if not data:
                return b"".join(chunks), True
            chunks.append(data)
        if self.error is not None:
            raise AssertionError(book.says(f"serve_one raised {self.error!r}", ONE))
        return b"".join(chunks), False


def assert_hello(raw: bytes, closed: bool, section: str) -> None:
    response = parse_response(raw, closed)
    assert (response.status, response.body) == (200, HELLO), book.expected(
        f"200 and {HELLO!r}", raw, section)
    assert response.headers.get("content-length") == str(len(HELLO)), book.expected(
        f"Content-Length: {len(HELLO)}", response.headers.get("content-length"), section)
    assert closed, book.says("the server did not close the connection after its response",
                             section)


# --- Part a: one connection, start to finish -------------------------------------------------


def test_02a_listener_is_bound_and_listening(code, listener):
    host, port = listener.getsockname()[:2]
    assert port != 0, book.expected("a port the kernel chose for port 0", port, ONE)
    try:
        connect((host, port), timeout=2).close()  # the backlog takes it before any accept()
    except OSError as error:
        raise AssertionError(book.says(f"could not connect before accept(): {error} "
                                       "(was listen() called?)", ONE)) from None


def test_02a_serves_one_request_and_returns(code, listener):
    server = ServeOne(code, listener)
    with connect(listener.getsockname()[:2]) as sock:
        sock.sendall(get("/"))
        assert_hello(*server.read_reply(sock), ONE)
    server.thread.join(DEADLINE)
    assert not server.thread.is_alive(), book.says("serve_one did not return after one "
                                                   "connection", ONE)
    assert server.error is None, book.says(f"serve_one raised {server.error!r}", ONE)


def test_02a_waits_for_the_whole_head(code, listener):
    server = ServeOne(code, listener)
    with connect(listener.getsockname()[:2]) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n")
        early, _, _ = select.select([sock], [], [], QUIET)
        assert not early, book.says("the server answered before the blank line that ends the "
                                    "head: TCP may deliver a request in any number of pieces", ONE)
        sock.sendall(b"Connection: close\r\n\r\n")
        assert_hello(*server.read_reply(sock), ONE)


# --- Part b: bind addresses ------------------------------------------------------------------


@pytest.mark.parametrize("text, kind, host, port, path", [
    ("127.0.0.1:8000", "tcp", "127.0.0.1", 8000, None),
    ("localhost:80", "tcp", "localhost", 80, None),
    ("127.0.0.1:0", "tcp", "127.0.0.1", 0, None),
    ("127.0.0.1", "tcp", "127.0.0.1", 8000, None),
    (":9000", "tcp", "0.0.0.0", 9000, None),
    ("[::1]:8080", "tcp6", "::1", 8080, None),
    ("[::]:80", "tcp6", "::", 80, None),
    ("[::1]", "tcp6", "::1", 8000, None),
    ("unix:/tmp/lab.sock", "unix", None, None, "/tmp/lab.sock"),
    ("unix:lab.sock", "unix", None, None, "lab.sock"),
])
def test_02b_address_is_parsed(code, text, kind, host, port, path):
    address = code.parse_address(text)
    got = (address.kind, address.host, address.port, address.path)
    assert got == (kind, host, port, path), book.expected(
        (kind, host, port, path), got, ADDRESSES)


@pytest.mark.parametrize("text", [
    "", "[::1", "::1:80", "127.0.0.1:http", "127.0.0.1:65536", "127.0.0.1:-1", "unix:",
    "[not-ipv6]:80", "[::1]8000",
])
def test_02b_bad_address_is_refused(code, text):
    try:
        address = code.parse_address(text)
    except ValueError:
        return
    raise AssertionError(book.expected(f"ValueError for {text!r}", address, ADDRESSES))


@given(ip=st.ip_addresses(), port=st.integers(0, 65535))
def test_02b_any_ip_and_port(code, ip, port):
    text = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    address = code.parse_address(text)
    want = ("tcp6" if ip.version == 6 else "tcp", str(ip), port)
    got = (address.kind, str(ipaddress.ip_address(address.host)), address.port)
    assert got == want, book.expected(want, got, ADDRESSES)


# --- Part c: several listeners, one process --------------------------------------------------


def start_server(impl, start, *binds: str) -> dict[str, object]:
    """Run the implementation's server.py with -b for each bind; return its addresses by kind."""
    argv = impl.command("server")
    for bind in binds:
        argv += ["-b", bind]
    server = start(argv, impl.environment())
    found = server.wait_for_lines(r"Listening at: (http://([0-9.]+):(\d+)|unix:(\S+))", len(binds))
    assert len(found) == len(binds), book.says(
        f"expected {len(binds)} 'Listening at:' lines, got {len(found)}; the server said: "
        f"{server.last_lines()}", SEVERAL)
    return {("unix" if match.group(4) else "tcp"):
            (match.group(4) or (match.group(2), int(match.group(3)))) for match in found}


def ask(address) -> tuple[bytes, bool]:
    with connect(address) as sock:
        sock.sendall(get("/"))
        data, closed = [], False
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError) as error:
                closed = isinstance(error, ConnectionResetError)
                break
            if not chunk:
                closed = True
                break
            data.append(chunk)
        return b"".join(data), closed


def test_02c_serves_tcp_and_unix(impl, start, short_tmp):
    path = str(short_tmp / "lab.sock")
    addresses = start_server(impl, start, "127.0.0.1:0", f"unix:{path}")
    assert stat.S_ISSOCK(os.stat(path).st_mode), book.says(f"{path} is not a socket file",
                                                           SEVERAL)
    for kind in ("tcp", "unix", "unix", "tcp"):
        try:
            raw, closed = ask(addresses[kind])
        except OSError as error:
            raise AssertionError(book.says(f"could not talk to the {kind} listener: {error}",
                                           SEVERAL)) from None
        assert_hello(raw, closed, SEVERAL)


def test_02c_stale_socket_file_is_replaced(impl, start, short_tmp):
    path = str(short_tmp / "stale.sock")
    with socket.socket(socket.AF_UNIX) as dead:  # a server that died left its file behind
        dead.bind(path)
    addresses = start_server(impl, start, f"unix:{path}")
    raw, closed = ask(addresses["unix"])
    assert_hello(raw, closed, SEVERAL)
