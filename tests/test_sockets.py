"""Listeners: address parsing, binding, retries, unix socket files, and fds passed across exec."""

import errno
import json
import os
import select
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.log import Logger
from unicorn.sockets import (
    ORIGIN_BIND,
    ORIGIN_FD,
    ORIGIN_REEXEC,
    ORIGIN_SYSTEMD,
    UNICORN_FD,
    Address,
    BindError,
    Listener,
    adopt_fd,
    create_listeners,
    inherited_listeners,
    listener_fds_env,
    parse_address,
)

REPO = Path(__file__).resolve().parents[1]


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def listen(binds, tmp_path=None, **options):
    """create_listeners with quiet defaults; the error log goes to a file under tmp_path."""
    settings = {"backlog": 64, "reuse_port": False, "umask": 0o022, "retries": 0, "delay": 0.0}
    settings.update(options)
    log = settings.pop("log", None) or Logger(errorlog=os.devnull)
    return create_listeners(binds, log=log, **settings)


def accept_one(listener: Listener, timeout: float = 5.0) -> socket.socket:
    """What a worker does: wait for the non-blocking listener to be readable, then accept."""
    readable, _, _ = select.select([listener.sock], [], [], timeout)
    assert readable, f"no connection arrived on {listener}"
    connection, _ = listener.sock.accept()
    return connection


def exchange(listener: Listener, connect_to) -> bytes:
    """Connect a client, accept on the listener, send bytes across, return what arrived."""
    family = socket.AF_UNIX if isinstance(connect_to, str) else listener.sock.family
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.connect(connect_to)
        with accept_one(listener) as server_side:
            server_side.sendall(b"hello")
        return client.recv(100)


# --- parse_address ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:8080", Address("tcp", host="127.0.0.1", port=8080)),
        ("127.0.0.1", Address("tcp", host="127.0.0.1", port=8000)),
        ("LocalHost:0", Address("tcp", host="localhost", port=0)),
        (":9000", Address("tcp", host="0.0.0.0", port=9000)),
        ("tcp://10.0.0.1:80", Address("tcp", host="10.0.0.1", port=80)),
        ("[::1]:9000", Address("tcp6", host="::1", port=9000)),
        ("[::]", Address("tcp6", host="::", port=8000)),
        ("[FE80::1]:1", Address("tcp6", host="fe80::1", port=1)),
        ("unix:/tmp/app.sock", Address("unix", path="/tmp/app.sock")),
        ("unix:///tmp/app.sock", Address("unix", path="/tmp/app.sock")),
        ("unix:relative.sock", Address("unix", path="relative.sock")),
        ("fd://3", Address("fd", fd=3)),
    ],
)
def test_parse_address_accepts(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty bind address"),
        ("localhost:http", "port 'http' is not a number"),
        ("localhost:", "port '' is not a number"),
        ("127.0.0.1:65536", "out of range"),
        ("::1:8000", "needs brackets"),
        ("[::1:8000", "missing ']'"),
        ("[::1]8000", "expected ':PORT'"),
        ("[127.0.0.1]:80", "not an IPv6 address"),
        ("unix:", "needs a path"),
        ("unix:@abstract", "abstract unix socket names are not supported"),
        ("fd://three", "needs a file descriptor number"),
        ("fd://-1", "needs a file descriptor number"),
    ],
)
def test_parse_address_rejects_with_a_reason(text, reason):
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_address(text)


tcp_addresses = st.builds(
    lambda host, port: Address("tcp", host=str(host), port=port),
    st.ip_addresses(v=4),
    st.integers(0, 65535),
)
tcp6_addresses = st.builds(
    lambda host, port: Address("tcp6", host=str(host), port=port),
    st.ip_addresses(v=6),
    st.integers(0, 65535),
)
unix_addresses = st.builds(
    lambda path: Address("unix", path=path),
    st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), min_size=1)
    .filter(lambda path: not path.startswith(("@", "//"))),
)
fd_addresses = st.builds(lambda fd: Address("fd", fd=fd), st.integers(0, 2**20))


@given(st.one_of(tcp_addresses, tcp6_addresses, unix_addresses, fd_addresses))
def test_str_of_an_address_parses_back_to_it(address):
    assert parse_address(str(address)) == address


# --- binding TCP -----------------------------------------------------------------------------


def test_tcp_listener_on_port_zero_shows_the_real_port_and_accepts():
    [listener] = listen(["127.0.0.1:0"])
    try:
        port = listener.address.port
        assert port != 0
        assert str(listener) == f"http://127.0.0.1:{port}"
        assert listener.fileno() == listener.sock.fileno()
        assert exchange(listener, ("127.0.0.1", port)) == b"hello"
    finally:
        listener.close()


def test_tcp_listener_options():
    [listener] = listen(["127.0.0.1:0"])
    try:
        sock = listener.sock
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert not os.get_blocking(sock.fileno())
        assert not os.get_inheritable(sock.fileno())
        assert listener.origin == ORIGIN_BIND
        assert not listener.owns_socket_file  # TCP has no file
    finally:
        listener.close()


def test_accept_on_an_idle_listener_does_not_block():
    """The contract workers rely on: losing the race for a connection raises, it doesn't hang."""
    [listener] = listen(["127.0.0.1:0"])
    try:
        with pytest.raises(BlockingIOError):
            listener.sock.accept()
    finally:
        listener.close()


def test_accepted_connections_are_blocking():
    [listener] = listen(["127.0.0.1:0"])
    try:
        with socket.create_connection(("127.0.0.1", listener.address.port)):
            with accept_one(listener) as connection:
                assert os.get_blocking(connection.fileno())
    finally:
        listener.close()


def test_reuse_port_lets_two_listeners_share_a_port():
    first, = listen(["127.0.0.1:0"], reuse_port=True)
    try:
        assert first.sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        second, = listen([f"127.0.0.1:{first.address.port}"], reuse_port=True)
        assert second.address == first.address
        second.close()
    finally:
        first.close()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_tcp6_listener():
    [listener] = listen(["[::1]:0"])
    try:
        port = listener.address.port
        assert str(listener) == f"http://[::1]:{port}"
        assert listener.address.kind == "tcp6"
        assert listener.sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        assert exchange(listener, ("::1", port)) == b"hello"
    finally:
        listener.close()


# --- address in use: retries and the one-line error ------------------------------------------


@pytest.fixture
def occupied_port():
    """A port some other process-like owner is listening on."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        yield blocker, blocker.getsockname()[1]


def test_address_in_use_is_retried_then_reported_in_one_line(tmp_path, occupied_port):
    _, port = occupied_port
    error_log = tmp_path / "error.log"
    log = Logger(errorlog=str(error_log))
    with pytest.raises(BindError) as caught:
        listen([f"127.0.0.1:{port}"], log=log, retries=2, delay=0.01)
    message = str(caught.value)
    assert message == f"Can't bind to 127.0.0.1:{port}: Address already in use"
    assert "\n" not in message
    assert caught.value.__cause__.errno == errno.EADDRINUSE
    failures = [line for line in error_log.read_text().splitlines() if "Can't bind" in line]
    assert [line.split("(")[-1] for line in failures] == [
        "attempt 1 of 3)",
        "attempt 2 of 3)",
        "attempt 3 of 3)",
    ]
    assert all("[ERROR]" in line for line in failures)


class ClosesBlockerOnFirstError:
    """A log that frees the port when the first bind failure is reported.

    It stands for the old server finishing its shutdown while we wait, at a known moment.
    """

    def __init__(self, blocker: socket.socket):
        self.blocker = blocker
        self.errors: list[str] = []

    def error(self, msg, *args):
        self.errors.append(msg % args)
        self.blocker.close()

    def info(self, msg, *args):
        pass

    debug = warning = info


def test_a_retry_succeeds_once_the_address_is_free(occupied_port):
    blocker, port = occupied_port
    log = ClosesBlockerOnFirstError(blocker)
    [listener] = listen([f"127.0.0.1:{port}"], log=log, retries=3, delay=0.0)
    try:
        assert listener.address.port == port
        assert log.errors == [f"Can't bind to 127.0.0.1:{port}: Address already in use (attempt 1 of 4)"]
    finally:
        listener.close()


def test_errors_that_waiting_cannot_cure_are_not_retried(tmp_path):
    error_log = tmp_path / "error.log"
    with pytest.raises(BindError, match="No such file or directory"):
        listen([f"unix:{tmp_path}/missing-dir/app.sock"], log=Logger(errorlog=str(error_log)), retries=5)
    assert error_log.read_text().count("Can't bind") == 1


def test_a_failed_bind_closes_the_listeners_already_made(tmp_path, occupied_port):
    _, port = occupied_port
    path = tmp_path / "first.sock"
    with pytest.raises(BindError):
        listen(["127.0.0.1:0", f"unix:{path}", f"127.0.0.1:{port}"])
    assert not path.exists()


# --- unix sockets ----------------------------------------------------------------------------


def test_unix_listener_honours_umask_and_leaves_the_process_umask_alone(tmp_path):
    path = tmp_path / "app.sock"
    before = os.umask(0o022)
    os.umask(before)
    [listener] = listen([f"unix:{path}"], umask=0o077)
    try:
        assert str(listener) == f"unix:{path}"
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o700
        current = os.umask(before)
        assert current == before
        assert listener.owns_socket_file
        assert exchange(listener, str(path)) == b"hello"
    finally:
        listener.close()


def test_close_removes_the_socket_file_only_when_told(tmp_path):
    path = tmp_path / "app.sock"
    [listener] = listen([f"unix:{path}"])
    listener.close(unlink=False)  # a master handing over to its USR2 successor
    assert path.exists()
    [listener] = listen([f"unix:{path}"])  # the file is stale now, so it is replaced
    listener.close(unlink=True)  # the final exit
    assert not path.exists()


def test_a_stale_socket_file_is_removed_before_binding(tmp_path):
    path = tmp_path / "app.sock"
    crashed = socket.socket(socket.AF_UNIX)
    crashed.bind(str(path))
    crashed.close()  # like a server killed with SIGKILL: the file stays, nobody listens
    assert path.exists()
    [listener] = listen([f"unix:{path}"])
    try:
        assert exchange(listener, str(path)) == b"hello"
    finally:
        listener.close(unlink=True)


def test_a_live_socket_file_is_an_error(tmp_path):
    path = tmp_path / "app.sock"
    [running] = listen([f"unix:{path}"])
    try:
        with pytest.raises(BindError) as caught:
            listen([f"unix:{path}"], retries=1)
        assert str(caught.value) == (
            f"Can't bind to unix:{path}: Address already in use (a server is listening there)"
        )
        # Each attempt asked by connecting: the running server sees two clients that said nothing.
        for _ in range(2):
            with accept_one(running) as probe:
                assert probe.recv(100) == b""
        assert exchange(running, str(path)) == b"hello"  # and it still serves
    finally:
        running.close(unlink=True)


def test_a_file_that_is_not_a_socket_is_never_removed(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("precious")
    with pytest.raises(BindError, match="exists and is not a socket"):
        listen([f"unix:{path}"], retries=3)
    assert path.read_text() == "precious"


def test_an_abstract_unix_socket_is_shown_with_an_at_sign():
    name = f"unicorn-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("\0" + name)
    sock.listen()
    listener = Listener(sock)
    assert str(listener) == f"unix:@{name}"
    listener.close(unlink=True)  # nothing on disk to remove, and no error


# --- adopting fds ----------------------------------------------------------------------------


def test_fd_bind_adopts_an_already_bound_socket():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound but not listening yet: adopting it starts listening
    port = sock.getsockname()[1]
    [listener] = listen([f"fd://{sock.detach()}"])
    try:
        assert str(listener) == f"http://127.0.0.1:{port}"
        assert listener.origin == ORIGIN_FD
        assert not os.get_blocking(listener.fileno())
        assert exchange(listener, ("127.0.0.1", port)) == b"hello"
    finally:
        listener.close()


def test_adopting_something_that_is_not_a_socket_is_a_one_line_error():
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(BindError, match=rf"^Can't bind to fd://{read_end}: .+$"):
            adopt_fd(read_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_adopting_a_datagram_socket_is_refused_and_the_fd_left_open():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(BindError, match="not a TCP or unix stream socket"):
            adopt_fd(udp.fileno())
        assert udp.fileno() >= 0
        udp.getsockname()  # still open


def test_owns_socket_file_depends_on_where_the_socket_came_from(tmp_path):
    origins = {ORIGIN_BIND: True, ORIGIN_REEXEC: True, ORIGIN_SYSTEMD: False, ORIGIN_FD: False}
    for origin, owns in origins.items():
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp_path / f"{origin}.sock"))
        listener = Listener(sock, origin)
        assert listener.owns_socket_file is owns, origin
        listener.close(unlink=True)


def test_no_inherited_listeners_without_the_variables():
    assert inherited_listeners({}) is None
    environ = {"LISTEN_PID": "1", "LISTEN_FDS": "1"}  # meant for another process
    assert inherited_listeners(environ) is None
    assert environ == {"LISTEN_PID": "1", "LISTEN_FDS": "1"}


def test_a_malformed_unicorn_fd_is_a_clear_error():
    with pytest.raises(ValueError, match="UNICORN_FD='3,x' is not a comma-separated list"):
        inherited_listeners({UNICORN_FD: "3,x"})


def test_listener_fds_env_makes_the_fds_inheritable(tmp_path):
    listeners = listen(["127.0.0.1:0", f"unix:{tmp_path}/a.sock"])
    try:
        env = listener_fds_env(listeners)
        assert env == {UNICORN_FD: f"{listeners[0].fileno()},{listeners[1].fileno()}"}
        assert all(os.get_inheritable(listener.fileno()) for listener in listeners)
    finally:
        for listener in listeners:
            listener.close(unlink=True)


# --- across exec: the USR2 re-exec and systemd socket activation ------------------------------

CHILD = textwrap.dedent(
    """
    import json, os, select, sys
    from unicorn.sockets import inherited_listeners, listener_fds_env
    from unicorn.sockets import BindError
    try:
        listeners = inherited_listeners()
    except BindError as error:
        print(json.dumps({"error": str(error)}), flush=True)
        sys.exit(1)
    print(json.dumps({
        "listeners": [str(listener) for listener in listeners],
        "origins": [listener.origin for listener in listeners],
        "fds": [listener.fileno() for listener in listeners],
        "left_in_environ": sorted(k for k in os.environ if k in ("UNICORN_FD", "LISTEN_PID", "LISTEN_FDS")),
        "inheritable": [os.get_inheritable(listener.fileno()) for listener in listeners],
        "handover_env": listener_fds_env(listeners),
        "pid": os.getpid(),
    }), flush=True)
    for listener in listeners:
        select.select([listener.sock], [], [], 10)
        connection, _ = listener.sock.accept()
        connection.sendall(b"served by %d" % os.getpid())
        connection.close()
    """
)


def child_env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LISTEN_")}
    env.pop(UNICORN_FD, None)
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def read_report(process: subprocess.Popen) -> dict:
    line = process.stdout.readline()
    assert line, f"child said nothing; stderr: {process.stderr.read()}"
    return json.loads(line)


def test_a_reexeced_master_inherits_listeners_through_unicorn_fd(tmp_path):
    listeners = listen(["127.0.0.1:0", f"unix:{tmp_path}/app.sock"])
    port = listeners[0].address.port
    env = child_env(**listener_fds_env(listeners))
    # close_fds=False is exec's own rule: inheritable fds cross it, the rest are closed.
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, close_fds=False,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        report = read_report(child)
        assert report["listeners"] == [f"http://127.0.0.1:{port}", f"unix:{tmp_path}/app.sock"]
        assert report["origins"] == [ORIGIN_REEXEC, ORIGIN_REEXEC]
        assert report["fds"] == [listener.fileno() for listener in listeners]
        assert report["left_in_environ"] == []
        assert report["inheritable"] == [False, False]
        for listener in listeners:  # the old master stops accepting; the child takes over
            listener.close(unlink=False)
        with socket.create_connection(("127.0.0.1", port)) as client:
            assert client.recv(100) == b"served by %d" % child.pid
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(f"{tmp_path}/app.sock")
            assert client.recv(100) == b"served by %d" % child.pid
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        child.communicate()  # also closes our ends of its pipes


def test_without_listener_fds_env_the_fds_do_not_survive_exec():
    """The broken variant: forgetting that Python's sockets are non-inheritable."""
    [listener] = listen(["127.0.0.1:0"])
    try:
        env = child_env(**{UNICORN_FD: str(listener.fileno())})
        child = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, close_fds=False,
            capture_output=True, text=True, timeout=30,
        )
        assert child.returncode == 1
        error = json.loads(child.stdout)["error"]
        assert error == f"Can't bind to fd://{listener.fileno()}: Bad file descriptor"
    finally:
        listener.close()


# What systemd does between fork and exec: move the sockets to fds 3, 4, ... and name our pid.
SYSTEMD_LIKE_LAUNCHER = textwrap.dedent(
    """
    import os, sys
    fds = [int(fd) for fd in sys.argv[1].split(",")]
    for target, fd in enumerate(fds, start=3):
        os.dup2(fd, target)
        os.close(fd)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.execv(sys.executable, [sys.executable, "-c", sys.argv[2]])
    """
)


def test_socket_activation_hands_over_fds_from_3(tmp_path):
    listeners = listen(["127.0.0.1:0", f"unix:{tmp_path}/a.sock"])
    # Moved high, so that the launcher's dup2 to 3 and 4 cannot overwrite one of them.
    for n, listener in enumerate(listeners):
        os.dup2(listener.fileno(), 100 + n)
        listener.close()
    listeners = [adopt_fd(100 + n) for n in range(len(listeners))]
    port = listeners[0].address.port
    fds = ",".join(str(listener.fileno()) for listener in listeners)
    child = subprocess.Popen(
        [sys.executable, "-c", SYSTEMD_LIKE_LAUNCHER, fds, CHILD],
        env=child_env(), pass_fds=[listener.fileno() for listener in listeners],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        report = read_report(child)
        assert report["listeners"] == [f"http://127.0.0.1:{port}", f"unix:{tmp_path}/a.sock"]
        assert report["origins"] == [ORIGIN_SYSTEMD, ORIGIN_SYSTEMD]
        assert report["fds"] == [3, 4]
        assert report["left_in_environ"] == []
        # Handing them on keeps them systemd's, with LISTEN_PID naming the process that will exec.
        assert report["handover_env"] == {
            UNICORN_FD: "3,4", "LISTEN_PID": str(report["pid"]), "LISTEN_FDS": "2",
        }
        for listener in listeners:
            listener.close()
        with socket.create_connection(("127.0.0.1", port)) as client:
            assert client.recv(100) == b"served by %d" % child.pid
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(f"{tmp_path}/a.sock")
            assert client.recv(100) == b"served by %d" % child.pid
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        child.communicate()  # also closes our ends of its pipes
