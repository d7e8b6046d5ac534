"""statsd: a real UDP socket in the test receives what a running server sends."""

import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.server import ROOT, Server, status_of
from unicorn.statsd import Statsd, parse_statsd_address


@pytest.fixture
def receiver():
    """A UDP socket standing where the statsd daemon would."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        yield sock


def received(sock: socket.socket, *wanted: str, timeout: float = 10) -> list[str]:
    """Collect datagrams until every line of ``wanted`` (repeats too) has arrived."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while Counter(wanted) - Counter(lines):
        if time.monotonic() > deadline:
            raise AssertionError(f"missing {Counter(wanted) - Counter(lines)}; got {lines}")
        try:
            lines.append(sock.recv(1024).decode("ascii"))
        except TimeoutError:
            pass
    return lines


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_requests_and_workers_arrive_as_statsd_lines(receiver, worker_class):
    host, port = receiver.getsockname()
    server = Server("-k", worker_class, "-w", "2", "--statsd-host", f"{host}:{port}",
                    "--statsd-prefix", "myapp", app="server_apps:hello")
    try:
        server.ready(workers=2)
        assert status_of(server.get()) == 200
        assert status_of(server.get()) == 200
        lines = received(receiver, "myapp.unicorn.workers:2|g",
                         *["myapp.unicorn.requests:1|c", "myapp.unicorn.request.status.200:1|c"] * 2)
        timers = [line for line in lines if line.startswith("myapp.unicorn.request.duration:")]
        assert len(timers) == 2 and all(line.endswith("|ms") for line in timers)
        assert 0 <= float(timers[0].split(":")[1].removesuffix("|ms")) < 10_000
        server.signal(signal.SIGTTIN)
        received(receiver, "myapp.unicorn.workers:3|g")
    finally:
        server.kill()


def test_a_500_is_counted_by_its_status(receiver):
    host, port = receiver.getsockname()
    server = Server("--statsd-host", f"{host}:{port}", app="server_apps:crash")
    try:
        server.ready()
        assert status_of(server.get()) == 500
        received(receiver, "unicorn.request.status.500:1|c", "unicorn.requests:1|c")
    finally:
        server.kill()


def test_no_daemon_listening_costs_nothing(receiver):
    """The kernel answers datagrams to a closed port with ECONNREFUSED on the next send."""
    port = receiver.getsockname()[1]
    receiver.close()
    server = Server("--statsd-host", f"127.0.0.1:{port}", app="server_apps:hello")
    try:
        server.ready()
        assert [status_of(server.get()) for _ in range(3)] == [200, 200, 200]
        assert "Error" not in server.output and "Traceback" not in server.output
    finally:
        server.kill()


@pytest.mark.parametrize("text, address", [
    ("localhost:8125", ("localhost", 8125)),
    ("statsd", ("statsd", 8125)),
    ("[::1]:9125", ("::1", 9125)),
    ("[::1]", ("::1", 8125)),
])
def test_addresses(text, address):
    assert parse_statsd_address(text) == address


@pytest.mark.parametrize("text", [":8125", "host:port", "host:0", "[::1", "[::1]8125"])
def test_bad_addresses(text):
    with pytest.raises(ValueError):
        parse_statsd_address(text)


def test_a_bad_address_is_a_one_line_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "unicorn", "--statsd-host", "localhost:lots", "hello:app"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == ("Error: Invalid value for statsd_host: 'lots' in "
                             "'localhost:lots' is not a port number\n")


@pytest.mark.parametrize("prefix, line", [("", "unicorn.workers:1|g"),
                                          ("app", "app.unicorn.workers:1|g"),
                                          ("app.", "app.unicorn.workers:1|g")])
def test_prefix_gets_one_dot(receiver, prefix, line):
    host, port = receiver.getsockname()
    statsd = Statsd(f"{host}:{port}", prefix)
    statsd.workers(1)
    assert receiver.recv(1024).decode() == line
    statsd.close()


def test_without_an_address_nothing_is_sent():
    statsd = Statsd()
    statsd.request("200 OK", 0.1)
    assert statsd.sock is None
