"""Lab 13's tests: labs/13-systemd/starter/service.py run as systemd would run it, and its units.

One part at a time:  python -m pytest labs/13-systemd/tests -k test_13a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/13-systemd/tests
systemd-socket-activate and systemd-analyze come from Debian's package systemd; without them
the tests that need them are skipped, except in CI. None of it needs systemd running as PID 1.
"""

import os
import pwd
import re
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest

from unicorn.labs.testing import DEADLINE, Book, connect, parse_response, read_until_closed

book = Book(__file__)

PROTOCOL, READY = "The protocol: LISTEN_FDS and LISTEN_PID", "The other message: READY=1"
UNITS, VERIFY = "The unit files", "Checking a unit before you install it"

HELLO = b"Hello, world!\n"
REQUEST = b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
# unicorn's --graceful-timeout default: systemd must wait longer than this before SIGKILL.
GRACEFUL_TIMEOUT = 30


def systemd_tool(name: str) -> str:
    """The path of a systemd tool; skip the test without it, unless in CI."""
    path = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if path is None:
        install = "apt-get install systemd"
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed, and CI must run this lab ({install})")
        pytest.skip(f"{name} is not installed ({install})")
    return path


@pytest.fixture(scope="module")
def code(impl):
    """The service module under test: the starter, unicorn's adapter, or a broken variant."""
    return impl.load("service")


def ask(address) -> tuple[bytes, bool]:
    with connect(address) as sock:
        sock.sendall(REQUEST)
        return read_until_closed(sock)


def assert_hello(address, server, section: str) -> None:
    try:
        raw, closed = ask(address)
    except OSError as error:
        raw, closed = f"({error})".encode(), True
    response = parse_response(raw, closed)
    if response.status is None:
        raise AssertionError(book.says(f"no answer on {address} {raw.decode()}; the server said: "
                                       f"{server.last_lines(1)}", section))
    assert (response.status, response.body) == (200, HELLO), book.expected(
        f"200 and {HELLO!r} on {address}", raw, section)


def free_port() -> int:
    """A port nobody listens on now (systemd-socket-activate needs a number, not 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def passed_through(env: dict[str, str], *names: str) -> list[str]:
    """-E options: systemd-socket-activate gives its child a minimal environment otherwise."""
    return [f"--setenv={name}={env[name]}" for name in names if name in env]


def socket_activate(impl, start, *addresses: str, command: list[str] | None = None,
                    cwd: str | None = None):
    """Run the server as `systemd-socket-activate -l ADDRESS ... SERVER`, once it listens.

    It binds each address as fds 3, 4, ... and execs the server at the first connection.
    """
    env = impl.environment()
    argv = [systemd_tool("systemd-socket-activate")]
    for address in addresses:
        argv.append(f"--listen={address}")
    argv += passed_through(env, "PYTHONPATH", "PYTHONUNBUFFERED", "LAB_IMPL")
    server = start([*argv, *(command or impl.command("service"))], env, cwd)
    found = server.wait_for_lines(r"Listening on .* as \d+\.", len(addresses))
    assert len(found) == len(addresses), book.says(
        f"systemd-socket-activate did not listen on {addresses}: {server.last_lines()}", PROTOCOL)
    return server


# --- Part a: socket activation ----------------------------------------------------------------


def test_13a_fds_for_this_process_are_claimed(code):
    environ = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "HOME": "/root"}
    fds = code.listen_fds(environ)
    assert fds == [3, 4], book.expected([3, 4], fds, PROTOCOL)
    assert environ == {"HOME": "/root"}, book.expected(
        "LISTEN_PID and LISTEN_FDS removed once claimed, so children never claim them",
        environ, PROTOCOL)


@pytest.mark.parametrize("pid", ["1", "other"])
def test_13a_fds_for_another_process_are_refused(code, pid):
    listen_pid = str(os.getpid() + 1) if pid == "other" else pid
    environ = {"LISTEN_PID": listen_pid, "LISTEN_FDS": "1"}
    fds = code.listen_fds(environ)
    assert fds == [], book.expected(f"[] when LISTEN_PID is {listen_pid} and we are "
                                    f"{os.getpid()}", fds, PROTOCOL)


def test_13a_no_variables_no_fds(code):
    fds = code.listen_fds({})
    assert fds == [], book.expected("[] without LISTEN_PID and LISTEN_FDS", fds, PROTOCOL)


def test_13a_adopt_takes_the_socket_as_it_is(code, short_tmp):
    """A bound TCP socket nobody listens on yet, and a listening unix socket."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(short_tmp / "adopt.sock"))
    unix.listen()
    with tcp, unix:
        for original in (tcp, unix):
            listener = code.adopt(os.dup(original.fileno()))
            with listener:
                got = (listener.family, listener.getsockname())
                want = (original.family, original.getsockname())
                assert got == want, book.expected(f"the socket of that fd, {want}", got, PROTOCOL)
                listening = listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                assert listening, book.says(f"adopt() left {want[1]} not listening", PROTOCOL)


def test_13a_serves_on_the_socket_systemd_passed(impl, start):
    port = free_port()
    server = socket_activate(impl, start, f"127.0.0.1:{port}")
    assert_hello(("127.0.0.1", port), server, PROTOCOL)  # this connection starts the server
    assert_hello(("127.0.0.1", port), server, PROTOCOL)


def test_13a_serves_every_passed_socket(impl, start, short_tmp):
    port, path = free_port(), str(short_tmp / "lab.sock")
    server = socket_activate(impl, start, f"127.0.0.1:{port}", path)
    for address in (path, ("127.0.0.1", port), path):
        assert_hello(address, server, PROTOCOL)


# --- Part b: READY=1 --------------------------------------------------------------------------


@pytest.fixture
def notify_socket(short_tmp):
    """A stand-in for systemd's notify socket that also learns each sender's pid."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(short_tmp / "notify"))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.settimeout(DEADLINE)
    yield sock
    sock.close()


def receive(sock: socket.socket) -> tuple[str, int | None]:
    """One datagram and the pid of the process that sent it (SCM_CREDENTIALS)."""
    credentials = struct.calcsize("3i")
    data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(credentials))
    pid = None
    for level, kind, value in ancillary:
        if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS):
            pid = struct.unpack("3i", value[:credentials])[0]
    return data.decode("utf-8", "replace"), pid


def test_13b_notify_sends_one_datagram(code, notify_socket):
    sent = code.notify("READY=1\nSTATUS=Serving", {"NOTIFY_SOCKET": notify_socket.getsockname()})
    assert sent is True, book.expected("True once the datagram is sent", sent, READY)
    message, _ = receive(notify_socket)
    assert message == "READY=1\nSTATUS=Serving", book.expected(
        "READY=1\nSTATUS=Serving", message, READY)


def test_13b_notify_to_an_abstract_socket(code):
    name = f"unicorn-lab13-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(DEADLINE)
        sent = code.notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sent is True, book.expected(f"True for NOTIFY_SOCKET=@{name}", sent, READY)
        assert sock.recv(4096) == b"READY=1", book.says("nothing arrived", READY)


def test_13b_notify_without_systemd_is_false(code, short_tmp):
    nobody = str(short_tmp / "nobody-reads-this")
    for environ in ({}, {"NOTIFY_SOCKET": nobody}):
        sent = code.notify("READY=1", environ)
        assert sent is False, book.expected(f"False, and no exception, for {environ}", sent, READY)


def receive_while_alive(sock: socket.socket, server) -> tuple[str, int | None] | None:
    """The first datagram on `sock`, or None if `server` exits or the deadline passes first."""
    sock.settimeout(0.1)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            return receive(sock)
        except TimeoutError:
            if server.popen.poll() is not None:
                return None
    return None


# A stand-in for systemd that hands over a socket it has bound but not yet listened on, so that
# the test sees when the server starts listening: until then, connections are refused.
HAND_OVER = """
import os, socket, sys
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
os.set_inheritable(sock.fileno(), True)
if sock.fileno() != 3:
    os.dup2(sock.fileno(), 3)
print("handing over port", sock.getsockname()[1], flush=True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_13b_ready_only_once_listening(impl, start, notify_socket):
    env = dict(impl.environment(), NOTIFY_SOCKET=notify_socket.getsockname())
    server = start([sys.executable, "-c", HAND_OVER, *impl.command("service")], env)
    found = server.wait_for_lines(r"handing over port (\d+)")
    assert found, book.says(f"the stand-in for systemd failed: {server.last_lines()}", READY)
    port = int(found[0].group(1))
    received = receive_while_alive(notify_socket, server)
    assert received, book.says(f"no message on NOTIFY_SOCKET; the server said: "
                               f"{server.last_lines(1)}", READY)
    message, pid = received
    # Straight away: a server that said READY=1 must already accept connections.
    try:
        connect(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        raise AssertionError(book.says(f"{message!r} arrived while connections were still "
                                       "refused: notify only once the socket listens",
                                       READY)) from None
    assert "READY=1" in message.splitlines(), book.expected("READY=1", message, READY)
    assert pid == server.popen.pid, book.says(
        f"READY=1 came from pid {pid}, not from the main process {server.popen.pid} "
        "(NotifyAccess=main)", READY)
    assert_hello(("127.0.0.1", port), server, READY)


# --- Part c: the unit files -------------------------------------------------------------------


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """{section: [(key, value), ...]}; keys may repeat, as ListenStream= does."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif "=" in line and current is not None:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict, section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


class Units:
    """The two templates, filled in and written to a directory, as the tests see them."""

    def __init__(self, code, directory) -> None:
        self.directory = directory
        self.socket_path = str(directory / "run" / "unicorn.sock")
        self.workdir = directory / "app"
        self.workdir.mkdir()
        (directory / "run").mkdir()
        (self.workdir / "hello.py").write_text(
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Length', '14')])\n"
            "    return [b'Hello, world!\\n']\n")
        fill = {"@SOCKET@": self.socket_path, "@WORKDIR@": str(self.workdir),
                "@PYTHON@": sys.executable, "@USER@": pwd.getpwuid(os.getuid()).pw_name}
        self.paths, self.parsed = [], {}
        for name in ("unicorn.socket", "unicorn.service"):
            text = code.unit_template(name)
            for placeholder, value in fill.items():
                text = text.replace(placeholder, value)
            path = directory / name
            path.write_text(text)
            self.paths.append(str(path))
            self.parsed[name] = parse_unit(text)

    @property
    def service(self) -> dict:
        return self.parsed["unicorn.service"]

    @property
    def socket(self) -> dict:
        return self.parsed["unicorn.socket"]

    def one(self, key: str, section: str = "Service") -> str:
        """The one value of `key` in the service (the last wins in systemd, as here)."""
        found = values(self.service, section, key)
        assert found, book.says(f"unicorn.service has no {key}= in [{section}]", UNITS)
        return found[-1]


@pytest.fixture
def units(code, short_tmp):
    return Units(code, short_tmp)


def test_13c_units_pass_systemd_analyze_verify(units):
    verify = systemd_tool("systemd-analyze")
    result = subprocess.run([verify, "verify", *units.paths], capture_output=True, text=True,
                            timeout=DEADLINE)
    said = " | ".join(result.stdout.splitlines() + result.stderr.splitlines())
    assert result.returncode == 0, book.says(f"systemd-analyze verify refused the units: {said}",
                                             VERIFY)


def test_13c_socket_activates_the_service(units):
    listen = values(units.socket, "Socket", "ListenStream")
    assert listen == [units.socket_path], book.expected(
        f"ListenStream={units.socket_path} in [Socket] (@SOCKET@)", listen, UNITS)
    for key in ("Requires", "After"):
        named = " ".join(values(units.service, "Unit", key)).split()
        assert "unicorn.socket" in named, book.expected(
            f"unicorn.socket in the service's {key}=", named, UNITS)


def test_13c_service_waits_for_ready(units):
    kind = units.one("Type")
    assert kind == "notify", book.expected("Type=notify: started means READY=1", kind, UNITS)


def test_13c_exec_start_serves_on_the_unit_socket(impl, start, units):
    words = shlex.split(units.one("ExecStart"))
    assert words and os.path.isabs(words[0]), book.expected(
        "an absolute path first in ExecStart= (systemd uses no shell and not your PATH)",
        words, UNITS)
    binds = [word for word in words if re.fullmatch(r"-b|--bind(=.*)?", word)]
    assert not binds, book.says(f"ExecStart= binds {binds}: the socket comes from systemd", UNITS)
    workdir = units.one("WorkingDirectory")
    server = socket_activate(impl, start, units.socket_path, command=words, cwd=workdir)
    assert_hello(units.socket_path, server, UNITS)


def test_13c_reload_sends_hup_to_the_master(units):
    reload = units.one("ExecReload")
    words = shlex.split(reload.replace("${MAINPID}", "$MAINPID"))
    assert "$MAINPID" in words and any("HUP" in word for word in words), book.expected(
        "ExecReload= sending HUP to $MAINPID, the master", reload, UNITS)
    assert os.path.isabs(words[0]), book.expected("an absolute path first", reload, UNITS)


def test_13c_stop_is_graceful(units):
    mode = units.one("KillMode")
    assert mode == "mixed", book.expected("KillMode=mixed: TERM to the master only", mode, UNITS)
    timeout = units.one("TimeoutStopSec")
    seconds = seconds_of(timeout)
    assert seconds is not None and seconds > GRACEFUL_TIMEOUT, book.expected(
        f"TimeoutStopSec= above unicorn's graceful timeout of {GRACEFUL_TIMEOUT} s", timeout,
        UNITS)


def seconds_of(text: str) -> float | None:
    """A systemd time span such as 40, 40s, 1min 30s or 2min, in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    if not parts or re.sub(r"[\d.\sa-z]", "", text):
        return None
    for number, unit in parts:
        if unit not in units:
            return None
        total += float(number) * units[unit]
    return total
