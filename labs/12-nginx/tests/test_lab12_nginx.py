"""Lab 12's tests: a real nginx, with the config in labs/12-nginx/starter/, in front of a real
unicorn serving the echo app in starter/proxy.py on a unix socket.

One part at a time:  python -m pytest labs/12-nginx/tests -k test_12a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/12-nginx/tests
nginx comes from Debian's package (apt-get install nginx); without it the nginx tests are
skipped, except in CI.
"""

import json
import os
import pwd
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from unicorn.labs.testing import (
    DEADLINE,
    Book,
    Process,
    Response,
    connect,
    parse_response,
    read_until_closed,
    shorten,
)

book = Book(__file__)

NEW_REQUEST = "nginx sends a new request"
TRUST = 'Who may say "https": X-Forwarded-Proto and trusted proxies'
BUFFERING, STATIC = "Why a sync worker needs a buffering proxy", "Static files"

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

# The whole loopback network reaches a local server, so a second local address plays a client
# that is not the proxy: unicorn and the student trust 127.0.0.1, never 127.0.0.2.
CLIENT = "127.0.0.2"
STATIC_FILE = b"served by nginx from the disk\n"
# The slow upload: one byte every TRICKLE seconds, which holds a sync worker for seconds.
SLOW_BODY, TRICKLE = 30, 0.1
# Quick requests sent meanwhile; through a buffering nginx they take milliseconds.
QUICK, QUICK_LIMIT = 5, 1.5


# --- The servers: one unicorn and one nginx for the whole file --------------------------------


@pytest.fixture(scope="module")
def code(impl):
    """The proxy module under test: the starter, unicorn's adapter, or a broken variant."""
    return impl.load("proxy")


@pytest.fixture(scope="module")
def scratch():
    """A short temporary directory for the sockets, nginx's files and the static files.
    One per test file, like the servers: starting nginx and unicorn once keeps the lab fast."""
    path = Path(tempfile.mkdtemp(prefix="lab-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class Upstream:
    """unicorn, as the tests see it."""

    socket_path: Path  # where nginx reaches it
    address: tuple[str, int]  # where clients reach it around nginx
    trust_error: BaseException | None  # what trusted_proxies() raised, if it did


@pytest.fixture(scope="module")
def unicorn_server(impl, code, scratch):
    """`python -m unicorn -w 1` serving proxy:app on a unix socket and on 127.0.0.1, trusting
    what trusted_proxies() says (`--forwarded-allow-ips`)."""
    socket_path = scratch / "unicorn.sock"
    target, path = impl.wsgi_target("proxy", "app")
    command = [sys.executable, "-m", "unicorn", "-w", "1", "-b", f"unix:{socket_path}",
               "-b", "127.0.0.1:0"]
    try:
        command += ["--forwarded-allow-ips", ",".join(code.trusted_proxies())]
        trust_error = None
    except Exception as error:  # part b not written yet: parts a and c can still run
        trust_error = error
    server = Process([*command, target], impl.environment(path), path)
    try:
        found = server.wait_for_lines(r"Listening at: http://([0-9.]+):(\d+)")
        assert found and socket_path.exists(), book.says(
            f"`python -m unicorn ... {target}` did not start; it said: {server.last_lines()}",
            NEW_REQUEST)
        yield Upstream(socket_path, (found[0].group(1), int(found[0].group(2))), trust_error)
    finally:
        server.kill()


@pytest.fixture(scope="module")
def nginx(code, unicorn_server, scratch):
    """nginx, run unprivileged from `scratch` with the config template filled in; its address."""
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed, and CI must run this lab (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    prefix, static = scratch / "nginx", scratch / "static"
    prefix.mkdir()
    static.mkdir()
    (static / "hello.txt").write_bytes(STATIC_FILE)
    port = free_port()
    config = fill(code.nginx_template(), PORT=str(port), SOCKET=str(unicorn_server.socket_path),
                  STATIC=str(static), PREFIX=str(prefix), USER=pwd.getpwuid(os.getuid()).pw_name)
    (prefix / "nginx.conf").write_text(config)
    server = Process([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr",
                      "-g", "daemon off;"], dict(os.environ))
    try:
        assert wait_for_port(server, port), book.says(
            f"nginx did not start with your config; it said: {nginx_said(server)}", NEW_REQUEST)
        yield ("127.0.0.1", port)
    finally:
        server.kill()


def fill(template: str, **values: str) -> str:
    """Replace each @NAME@; one the tests do not know, outside a comment, is a mistake."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    unknown = sorted(set(re.findall(r"@[A-Z_]+@", re.sub(r"#.*", "", template))))
    assert not unknown, book.says(f"nginx.conf.template uses {', '.join(unknown)}; the tests fill "
                                  f"in only {', '.join('@' + name + '@' for name in values)}",
                                  NEW_REQUEST)
    return template


def nginx_said(server: Process) -> str:
    """nginx's last complaints, without the date and pid that start each of its lines."""
    return re.sub(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: ", r"\1 ",
                  server.last_lines(2))


def free_port() -> int:
    """A port nobody listens on now (nginx's `listen` needs a number, not 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(server: Process, port: int) -> bool:
    """Wait until something accepts connections on `port`; give up early if `server` exits."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and server.popen.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)  # polling the port, with a deadline: not a guess at a duration
    return False


# --- A client that can pretend --------------------------------------------------------------


def request(path: str = "/", headers: str = "", method: str = "GET", body: bytes = b"") -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return (f"{method} {path} HTTP/1.1\r\nHost: site.example\r\n{length}{headers}"
            "Connection: close\r\n\r\n").encode("latin-1") + body


def open_from(address: tuple[str, int] | str, source: str | None = None) -> socket.socket:
    """A connection to `address`, from the local address `source` (127.0.0.1 if None)."""
    if isinstance(address, str) or source is None:
        return connect(address)
    return socket.create_connection(address, timeout=DEADLINE, source_address=(source, 0))


def ask(address, raw: bytes, source: str | None = None) -> Response:
    with open_from(address, source) as sock:
        sock.sendall(raw)
        return parse_response(*read_until_closed(sock))


def echo(response: Response, section: str) -> dict:
    """The environ the echo app answered with."""
    assert response.status == 200, book.expected("200 from the echo app", response.raw, section)
    try:
        return json.loads(response.body)
    except ValueError:
        raise AssertionError(book.says(f"the answer is not the echo app's JSON: "
                                       f"{shorten(response.body)}", section)) from None


def client_of(environ: dict, section: str) -> str:
    """What real_client_address() said, through the echo app."""
    client = environ.get("lab.client", "")
    assert not client.startswith("NotImplementedError"), book.says(client, section)
    return client


# --- Part a: nginx in front of unicorn's unix socket ------------------------------------------


def test_12a_request_reaches_the_app_through_nginx(nginx):
    environ = echo(ask(nginx, request("/hello?x=1")), NEW_REQUEST)
    got = (environ.get("PATH_INFO"), environ.get("QUERY_STRING"))
    assert got == ("/hello", "x=1"), book.expected(("/hello", "x=1"), got, NEW_REQUEST)


def test_12a_host_is_the_clients(nginx):
    environ = echo(ask(nginx, request("/")), NEW_REQUEST)
    assert environ.get("HTTP_HOST") == "site.example", book.expected(
        "Host: site.example, as the client sent it (proxy_set_header Host $http_host)",
        environ.get("HTTP_HOST"), NEW_REQUEST)


def test_12a_x_forwarded_for_ends_with_the_address_nginx_saw(nginx):
    for sent, want in ((None, CLIENT), ("6.6.6.6", f"6.6.6.6, {CLIENT}")):
        headers = f"X-Forwarded-For: {sent}\r\n" if sent else ""
        environ = echo(ask(nginx, request("/", headers), source=CLIENT), NEW_REQUEST)
        assert environ.get("HTTP_X_FORWARDED_FOR") == want, book.expected(
            f"X-Forwarded-For: {want} from a client at {CLIENT} that sent {sent!r} "
            "($proxy_add_x_forwarded_for)", environ.get("HTTP_X_FORWARDED_FOR"), NEW_REQUEST)


def test_12a_x_forwarded_proto_is_written_by_nginx(nginx):
    environ = echo(ask(nginx, request("/", "X-Forwarded-Proto: https\r\n")), NEW_REQUEST)
    got = (environ.get("HTTP_X_FORWARDED_PROTO"), environ.get("wsgi.url_scheme"))
    assert got == ("http", "http"), book.expected(
        "X-Forwarded-Proto: http and scheme http for a client that lied 'https' over plain "
        "HTTP (proxy_set_header X-Forwarded-Proto $scheme)", got, NEW_REQUEST)


# --- Part b: whom to believe ------------------------------------------------------------------


@pytest.mark.parametrize("peer, forwarded, trusted, want", [
    ("10.0.0.1", None, ["10.0.0.1"], "10.0.0.1"),  # no header: the peer is the client
    ("203.0.113.9", "6.6.6.6", ["10.0.0.1"], "203.0.113.9"),  # not our proxy: a claim, ignored
    ("10.0.0.1", "198.51.100.7", ["10.0.0.1"], "198.51.100.7"),  # our proxy: whom it saw
    ("10.0.0.1", "6.6.6.6, 198.51.100.7", ["10.0.0.1"], "198.51.100.7"),  # the client's claim, left
    ("10.0.0.9", "6.6.6.6,198.51.100.7", ["10.0.0.0/24"], "198.51.100.7"),  # a trusted network
    ("10.0.1.9", "6.6.6.6, 198.51.100.7", ["10.0.0.0/24"], "10.0.1.9"),  # outside it
    ("::1", "2001:db8::5", ["127.0.0.1", "::1"], "2001:db8::5"),  # IPv6
    ("127.0.0.1", "6.6.6.6, 198.51.100.7", [], "127.0.0.1"),  # trust nobody
])
def test_12b_real_client_address(code, peer, forwarded, trusted, want):
    environ = {"REMOTE_ADDR": peer, "REMOTE_PORT": "40000", "PATH_INFO": "/"}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    got = code.real_client_address(environ, trusted)
    assert got == want, book.expected(
        f"{want} for REMOTE_ADDR {peer}, X-Forwarded-For {forwarded!r}, trusted {trusted}",
        got, TRUST)


def test_12b_through_nginx_the_client_is_who_nginx_saw(nginx):
    environ = echo(ask(nginx, request("/", "X-Forwarded-For: 6.6.6.6\r\n"), source=CLIENT),
                   TRUST)
    client = client_of(environ, TRUST)
    assert client == CLIENT, book.expected(
        f"{CLIENT}, the address nginx saw (X-Forwarded-For arrived as "
        f"{environ.get('HTTP_X_FORWARDED_FOR')!r}, REMOTE_ADDR {environ.get('REMOTE_ADDR')})",
        client, TRUST)


def test_12b_a_direct_client_cannot_spoof_x_forwarded_for(unicorn_server):
    raw = request("/", "X-Forwarded-For: 6.6.6.6\r\n")
    environ = echo(ask(unicorn_server.address, raw, source=CLIENT), TRUST)
    client = client_of(environ, TRUST)
    assert client == CLIENT, book.expected(
        f"{CLIENT} for a client at {CLIENT} that went around nginx and sent "
        "X-Forwarded-For: 6.6.6.6", client, TRUST)


def test_12b_x_forwarded_proto_only_from_trusted_proxies(unicorn_server):
    error = unicorn_server.trust_error
    assert error is None, book.says(f"trusted_proxies() raised {error!r}", TRUST)
    raw = request("/", "X-Forwarded-Proto: https\r\n")
    for source, want in ((CLIENT, "http"), ("127.0.0.1", "https")):
        environ = echo(ask(unicorn_server.address, raw, source=source), TRUST)
        assert environ.get("wsgi.url_scheme") == want, book.expected(
            f"scheme {want} for X-Forwarded-Proto: https sent from {source} "
            "(--forwarded-allow-ips is what trusted_proxies() returns)",
            environ.get("wsgi.url_scheme"), TRUST)


# --- Part c: what nginx does so that unicorn does not have to ---------------------------------


def test_12c_static_files_come_from_nginx(nginx):
    response = ask(nginx, request("/static/hello.txt"))
    assert (response.status, response.body) == (200, STATIC_FILE), book.expected(
        f"200 and {STATIC_FILE!r}, read by nginx from the static directory", response.raw, STATIC)


def test_12c_a_missing_static_file_is_nginx_s_404(nginx):
    response = ask(nginx, request("/static/missing.txt"))
    assert response.status == 404, book.expected(
        "404 from nginx: a /static/ request never reaches the app", response.raw, STATIC)


class SlowUpload:
    """A client that sends a POST head at once, then its body one byte at a time."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = open_from(address)
        self.sock.sendall(request("/slow", f"Content-Length: {SLOW_BODY}\r\n", "POST") + b"x")
        self.sent = 1
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while self.sent < SLOW_BODY and not self.stop.wait(TRICKLE):  # pacing, not waiting
            self.sock.sendall(b"x")
            self.sent += 1

    def finish(self) -> Response:
        """Send the rest of the body at once, and read the answer."""
        self.stop.set()
        self.thread.join(DEADLINE)
        with self.sock:
            self.sock.sendall(b"x" * (SLOW_BODY - self.sent))
            return parse_response(*read_until_closed(self.sock))


def test_12c_slow_upload_does_not_hold_the_worker(nginx):
    slow = SlowUpload(nginx)
    started = time.monotonic()
    try:
        statuses = [ask(nginx, request("/quick")).status for _ in range(QUICK)]
        took = time.monotonic() - started
    finally:
        answer = slow.finish()
    assert statuses == [200] * QUICK, book.expected([200] * QUICK, statuses, BUFFERING)
    assert took < QUICK_LIMIT, book.says(
        f"{QUICK} quick requests took {took:.1f} s while another client uploaded "
        f"{SLOW_BODY} bytes at {1 / TRICKLE:.0f} bytes/s: unicorn's one sync worker was reading "
        "the slow upload (does nginx read whole requests first?)", BUFFERING)
    environ = echo(answer, BUFFERING)
    assert environ.get("lab.body_length") == SLOW_BODY, book.expected(
        f"the slow client's {SLOW_BODY} bytes at the app", environ.get("lab.body_length"),
        BUFFERING)
