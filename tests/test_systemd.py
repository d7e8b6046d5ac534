"""systemd: sd_notify datagrams, LISTEN_FDS, and a real systemd-socket-activate launch."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from unicorn import systemd

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def notify_socket(tmp_path):
    """A datagram socket standing where systemd's would: what notify() sends arrives here."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(5)
        yield str(path), receiver


def test_not_under_systemd_notify_returns_false():
    assert systemd.notify(systemd.READY, {}) is False
    assert systemd.notify(systemd.READY, {"NOTIFY_SOCKET": ""}) is False


def test_notify_sends_one_datagram(notify_socket):
    path, receiver = notify_socket
    environ = {"NOTIFY_SOCKET": path}
    assert systemd.notify("READY=1\nSTATUS=unicorn booted", environ) is True
    assert systemd.notify(systemd.STOPPING, environ) is True
    assert receiver.recv(1024) == b"READY=1\nSTATUS=unicorn booted"
    assert receiver.recv(1024) == b"STOPPING=1"


def test_notify_reads_os_environ_by_default(notify_socket, monkeypatch):
    path, receiver = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert systemd.notify(systemd.RELOADING) is True
    assert receiver.recv(1024) == b"RELOADING=1"


def test_notify_to_an_abstract_socket():
    name = f"unicorn-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(5)
        assert systemd.notify("STATUS=abstract", {"NOTIFY_SOCKET": "@" + name}) is True
        assert receiver.recv(1024) == b"STATUS=abstract"


def test_notify_to_a_socket_nobody_reads_returns_false(tmp_path):
    assert systemd.notify(systemd.READY, {"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False


def test_listen_fds_claims_the_fds_meant_for_us_and_clears_the_variables():
    environ = {"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b", "X": "1"}
    assert systemd.listen_fds(environ) == [3, 4]
    assert environ == {"X": "1"}


def test_listen_fds_ignores_fds_meant_for_another_process():
    environ = {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "2"}
    assert systemd.listen_fds(environ) == []
    assert environ == {"LISTEN_PID": str(os.getpid() + 1), "LISTEN_FDS": "2"}
    assert systemd.listen_fds({}) == []


def test_listen_fds_rejects_a_malformed_count():
    with pytest.raises(ValueError, match="LISTEN_FDS='two'"):
        systemd.listen_fds({"LISTEN_PID": str(os.getpid()), "LISTEN_FDS": "two"})


CHILD = """
import json, os, select
from unicorn.sockets import inherited_listeners
listeners = inherited_listeners()
report = {
    "listeners": [str(listener) for listener in listeners],
    "origins": [listener.origin for listener in listeners],
    "fds": [listener.fileno() for listener in listeners],
    "left": [k for k in ("LISTEN_PID", "LISTEN_FDS") if k in os.environ],
}
listener = listeners[0]
select.select([listener.sock], [], [], 10)
connection, _ = listener.sock.accept()
connection.sendall(json.dumps(report).encode())
connection.close()
"""


@pytest.mark.skipif(not shutil.which("systemd-socket-activate"), reason="needs systemd-socket-activate")
def test_real_socket_activation(tmp_path):
    """systemd-socket-activate binds, waits for the first client, then execs us with the socket as fd 3."""
    path = tmp_path / "activated.sock"
    launcher = subprocess.Popen(
        [shutil.which("systemd-socket-activate"), "-l", str(path),
         "-E", f"PYTHONPATH={REPO}", sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not path.exists():  # poll for the socket file: the launcher binds it when ready
            assert launcher.poll() is None, launcher.stderr.read()
            assert time.monotonic() < deadline, "systemd-socket-activate never bound"
            time.sleep(0.01)
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(str(path))  # this connection is what starts our process
            report = json.loads(client.makefile("rb").read())
        assert report == {
            "listeners": [f"unix:{path}"],
            "origins": ["systemd"],
            "fds": [3],
            "left": [],
        }
        assert launcher.wait(timeout=10) == 0
    finally:
        launcher.kill()
        launcher.communicate()  # also closes our ends of its pipes
