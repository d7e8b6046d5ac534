"""The files in examples/deploy/, run for real: nginx in front of unicorn, and the units.

nginx.conf and nginx-upstream.conf run in a real nginx, unprivileged (its own port,
pid file, logs and temporary files in the test's directory), in front of real unicorn
instances. unicorn.socket and unicorn.service pass `systemd-analyze verify`, and the
service's own ExecStart, ExecReload and KillSignal are run the way systemd would run
them, with systemd-socket-activate holding the socket. Without nginx or the systemd
tools these tests are skipped, unless CI is set (.ci/run installs them).
"""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.deploy_tools import (
    DEPLOY,
    ROOT,
    adapt,
    free_port,
    get,
    nginx_replacements,
    read_unit,
    require,
    start_nginx,
    stop_nginx,
    verify,
)
from tests.server import Server, body_of, status_of, wait_until

# --- nginx.conf: one unicorn on a unix socket -------------------------------------------


@pytest.fixture
def site(start_server, tmp_path):
    """examples/deploy/nginx.conf in front of a one-worker unicorn serving the echo app."""
    sock = tmp_path / "unicorn.sock"
    static = tmp_path / "static"
    static.mkdir()
    (static / "site.css").write_text("body { color: teal }\n")
    (static / "50x.html").write_text("<p>Back in a moment.</p>\n")
    replacements = {
        **nginx_replacements(tmp_path, port := free_port()),
        "/run/unicorn/unicorn.sock": str(sock),
        "/srv/hello/static": str(static),
    }
    if not os.path.exists("/etc/nginx/mime.types"):  # a machine whose nginx lives elsewhere
        (tmp_path / "mime.types").write_text("types { text/css css; text/html html; }\n")
        replacements["/etc/nginx/mime.types"] = str(tmp_path / "mime.types")
    conf = tmp_path / "nginx.conf"
    conf.write_text(adapt((DEPLOY / "nginx.conf").read_text(), replacements))
    unicorn = start_server("-w", "1", "--access-logfile", "-", bind=f"unix:{sock}",
                           app="server_apps:echo")
    wait_until(lambda: sock.exists() and unicorn.worker_pids(), 15, "unicorn did not start")
    nginx = start_nginx(conf, tmp_path, port)
    yield port, unicorn
    stop_nginx(nginx)


def test_nginx_conf_forwards_host_address_and_scheme(site):
    port, _ = site
    # The client lies about its address and scheme; nginx appends and replaces.
    lies = "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
    environ = json.loads(body_of(get(port, "/hello?x=1", headers=lies)))
    assert environ["HTTP_HOST"] == "example.com"
    assert environ["HTTP_X_FORWARDED_FOR"] == "6.6.6.6, 127.0.0.1"
    assert environ["HTTP_X_FORWARDED_PROTO"] == "http"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["PATH_INFO"] == "/hello" and environ["QUERY_STRING"] == "x=1"


def test_nginx_conf_serves_static_files_without_unicorn(site):
    port, unicorn = site
    response = get(port, "/static/site.css")
    assert status_of(response) == 200
    assert body_of(response) == b"body { color: teal }\n"
    assert b"Content-Type: text/css" in response  # from mime.types
    assert b"Cache-Control: max-age=604800" in response  # expires 7d
    # unicorn's access log shows the request after it, and never the static one.
    assert status_of(get(port, "/after-static")) == 200
    unicorn.wait_for_line(r'"GET /after-static ')
    assert "/static/" not in unicorn.output


def test_nginx_conf_closes_on_a_host_it_does_not_serve(site):
    port, _ = site
    assert get(port, "/", host="attacker.example") == b""  # 444: no answer at all


def test_nginx_conf_shows_its_own_page_when_unicorn_is_down(site):
    port, unicorn = site
    unicorn.signal(signal.SIGTERM)
    assert unicorn.wait(15) == 0
    response = get(port, "/")
    assert status_of(response) == 502
    assert body_of(response) == b"<p>Back in a moment.</p>\n"


# --- nginx-upstream.conf: two instances, one stopped under load --------------------------


class Load:
    """A bounded client loop: threads send GETs through nginx until told to stop.

    Every answer (or error) is recorded in order; the test waits on what has been
    recorded, never on the clock.
    """

    def __init__(self, port: int, threads: int = 3, limit: int = 20000, seconds: float = 40):
        self.port, self.limit = port, limit
        self.deadline = time.monotonic() + seconds
        self.results: list[tuple[int, str]] = []  # (status, body), or (0, the error)
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def run(self) -> None:
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                response = get(self.port, "/")
                result = (status_of(response), body_of(response).decode())
            except (OSError, IndexError, ValueError) as error:
                result = (0, repr(error))
            with self.changed:
                self.results.append(result)
                self.changed.notify_all()
                if len(self.results) >= self.limit:
                    self.stop.set()

    def wait_for(self, condition, what: str, timeout: float = 20) -> int:
        """Wait until condition(results) holds; return how many results there were then."""
        with self.changed:
            if not self.changed.wait_for(lambda: condition(self.results) or self.stop.is_set(),
                                         timeout) or not condition(self.results):
                raise AssertionError(f"{what}: never happened; last results {self.results[-5:]}")
            return len(self.results)

    def finish(self) -> list[tuple[int, str]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)
        return self.results


def served_by(pid: int):
    """A condition on the results so far: some answer came from the instance with this pid."""
    return lambda results: any(body == str(pid) for _, body in results)


def test_two_instances_one_stopped_and_restarted_under_load(start_server, tmp_path):
    port, port_a, port_b = free_port(), free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(adapt((DEPLOY / "nginx-upstream.conf").read_text(), {
        **nginx_replacements(tmp_path, port),
        "127.0.0.1:8001": f"127.0.0.1:{port_a}",
        "127.0.0.1:8002": f"127.0.0.1:{port_b}",
    }))

    def instance(instance_port: int) -> Server:
        return start_server("-w", "2", bind=f"127.0.0.1:{instance_port}",
                            app="deploy_apps:instance").ready(workers=2)

    a, b = instance(port_a), instance(port_b)
    nginx = start_nginx(conf, tmp_path, port)
    load = Load(port)
    try:
        load.wait_for(lambda r: served_by(a.pid)(r) and served_by(b.pid)(r), "both instances serving")

        b.signal(signal.SIGTERM)  # B stops gracefully in the middle of the load
        assert b.wait(15) == 0
        stopped_at = load.wait_for(lambda r: True, "a request after B stopped")
        load.wait_for(lambda r: len(r) >= stopped_at + 100, "100 requests while B is down")
        b_down = load.results[stopped_at:stopped_at + 100]

        b_again = instance(port_b)  # B starts again, on the same port
        load.wait_for(served_by(b_again.pid), "the restarted B serving")
    finally:
        results = load.finish()
        stop_nginx(nginx)

    failed = [result for result in results if result[0] != 200]
    assert failed == [], f"{len(failed)} of {len(results)} requests failed: {failed[:5]}"
    assert {body for _, body in b_down} == {str(a.pid)}
    # nginx met B's closed port and sent those requests to A: the access log shows
    # two upstream addresses on a line whose status, to the client, was 200.
    retried = re.findall(rf"200 127\.0\.0\.1:{port_b}, 127\.0\.0\.1:{port_a}$",
                         (tmp_path / "access.log").read_text(), re.M)
    assert retried, "no request was retried on the other instance"


# --- unicorn.socket and unicorn.service ---------------------------------------------------


@pytest.fixture
def units(tmp_path):
    """The two units with this machine's interpreter and directories in them."""
    sock = tmp_path / "unicorn.sock"
    (tmp_path / "unicorn.socket").write_text(adapt((DEPLOY / "unicorn.socket").read_text(), {
        "/run/unicorn/unicorn.sock": str(sock),
    }))
    (tmp_path / "unicorn.service").write_text(adapt((DEPLOY / "unicorn.service").read_text(), {
        "/srv/hello/venv/bin/unicorn": f"{sys.executable} -m unicorn",
        "/srv/hello": str(ROOT / "examples"),
    }))
    return tmp_path / "unicorn.socket", tmp_path / "unicorn.service", sock


def test_units_pass_systemd_analyze_verify(units):
    socket_unit, service_unit, _ = units
    result = verify(socket_unit, service_unit)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr


def test_service_unit_says_what_the_chapter_asks():
    service = read_unit(DEPLOY / "unicorn.service")["Service"]
    assert service["Type"] == "notify"
    assert service["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert service["KillMode"] == "mixed" and service["KillSignal"] == "SIGTERM"
    graceful = int(re.search(r"--graceful-timeout (\d+)", service["ExecStart"]).group(1))
    assert int(service["TimeoutStopSec"]) > graceful
    assert "--bind" not in service["ExecStart"] and " -b " not in service["ExecStart"]
    assert read_unit(DEPLOY / "unicorn.socket")["Socket"]["ListenStream"] == \
        "/run/unicorn/unicorn.sock"


def test_service_runs_as_systemd_would_run_it(units, tmp_path):
    """ExecStart on the socket unit's socket, READY=1, ExecReload, then KillSignal."""
    launcher = require("systemd-socket-activate", "systemd")
    _, service_unit, sock = units
    service = read_unit(service_unit)["Service"]
    notify = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(notify))
        systemd.settimeout(15)
        command = shlex.split(service["ExecStart"])
        assert command[:3] == [sys.executable, "-m", "unicorn"]
        server = Server(*command[3:-1], app=command[-1], bind=None,
                        cwd=Path(service["WorkingDirectory"]),
                        launcher=(launcher, "-l", str(sock), "-E", "PYTHONPATH",
                                  "-E", "PYTHONUNBUFFERED", "-E", f"NOTIFY_SOCKET={notify}"))
        try:
            wait_until(sock.exists, 15, "systemd-socket-activate never bound the socket")
            with socket.socket(socket.AF_UNIX) as client:  # the first client starts unicorn
                client.settimeout(15)
                client.connect(str(sock))
                client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert body_of(client.makefile("rb").read()) == b"Hello, world!\n"
            assert systemd.recv(256) == b"READY=1"
            server.wait_for_line(r"Listening at: unix:", 1)

            reload = service["ExecReload"].replace("$MAINPID", str(server.pid))
            subprocess.run(shlex.split(reload), check=True)  # systemctl reload
            server.wait_for_line(r"Booting worker", count=6)  # three new workers

            os.kill(server.pid, signal.Signals[service["KillSignal"]])  # systemctl stop
            assert server.wait(int(service["TimeoutStopSec"])) == 0
            assert systemd.recv(256) == b"STOPPING=1"
            assert sock.exists()  # systemd's socket: unicorn leaves it for the next start
        finally:
            server.kill()
