"""The arbiter seen from outside: real processes, real signals, real sockets."""

import os
import signal
import socket
import sys
import threading
import time

import pytest

from tests.server import alive, body_of, exchange, status_of, wait_until

# The fault tests run on both worker classes: a worker's death, silence or
# failure to boot is the arbiter's business, whatever the worker does inside.
WORKERS = ["sync", "gthread"]


def test_master_forks_the_requested_workers(start_server):
    server = start_server("-w", "3").ready(workers=3)
    workers = server.worker_pids()
    assert len(workers) == 3
    assert server.pid not in workers
    served_by = {int(body_of(server.get("/")).decode().split('"pid": ')[1].split(",")[0])
                 for _ in range(20)}
    assert served_by <= set(workers)


def test_ttin_and_ttou_change_the_worker_count(start_server):
    server = start_server("-w", "2").ready(workers=2)
    server.signal(signal.SIGTTIN)
    wait_until(lambda: len(server.worker_pids()) == 3, 10, "TTIN did not add a worker")
    # One at a time: two identical signals sent together may reach the master as one.
    server.signal(signal.SIGTTOU)
    wait_until(lambda: len(server.worker_pids()) == 2, 10, "TTOU did not remove a worker")
    server.signal(signal.SIGTTOU)
    wait_until(lambda: len(server.worker_pids()) == 1, 10, "TTOU did not remove a worker")
    assert status_of(server.get("/")) == 200


@pytest.mark.parametrize("worker", WORKERS)
def test_a_killed_worker_is_replaced(start_server, worker):
    server = start_server("-k", worker, "-w", "2").ready(workers=2)
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in server.worker_pids() and len(server.worker_pids()) == 2,
               10, "the killed worker was not replaced")
    server.wait_for_line(rf"Worker \(pid:{victim}\) was sent SIGKILL! Perhaps out of memory\?")
    assert status_of(server.get("/")) == 200


@pytest.mark.parametrize("worker", WORKERS)
def test_a_stuck_worker_is_killed_and_replaced(start_server, worker):
    """A worker stopped dead (SIGSTOP) beats no more: ABRT, which it cannot
    handle while stopped, then KILL, and a fresh worker serves."""
    server = start_server("-k", worker, "-w", "1", "--timeout", "2").ready()
    stuck = server.worker_pids()[0]
    os.kill(stuck, signal.SIGSTOP)
    server.wait_for_line(rf"WORKER TIMEOUT \(pid:{stuck}\)", timeout=15)
    wait_until(lambda: server.worker_pids() and stuck not in server.worker_pids(), 15,
               "the stuck worker was not replaced")
    server.ready()
    assert status_of(server.get("/")) == 200
    assert "Perhaps out of memory" not in server.output  # the master killed it itself


def test_a_silent_worker_is_timed_out_and_its_client_gets_500(start_server):
    server = start_server("-w", "1", "--timeout", "2", app="server_apps:slow").ready()
    first = server.worker_pids()[0]
    started = time.monotonic()
    response = server.get("/?seconds=30", timeout=20)
    assert status_of(response) == 500
    assert time.monotonic() - started < 10
    server.wait_for_line(rf"WORKER TIMEOUT \(pid:{first}\)")
    wait_until(lambda: server.worker_pids() and server.worker_pids() != [first], 10,
               "no replacement worker")


def test_hup_replaces_every_worker_and_keeps_the_master(start_server):
    server = start_server("-w", "2").ready(workers=2)
    before = set(server.worker_pids())
    server.signal(signal.SIGHUP)
    wait_until(lambda: len(server.worker_pids()) == 2 and not before & set(server.worker_pids()),
               15, "HUP did not replace the workers")
    assert alive(server.pid)
    assert status_of(server.get("/")) == 200


def test_a_kill_at_the_graceful_deadline_is_not_blamed_on_memory(start_server):
    """The master's own SIGKILL, when --graceful-timeout runs out, is logged without the OOM hint."""
    server = start_server("-w", "1", "--graceful-timeout", "1", app="server_apps:slow").ready()
    worker = server.worker_pids()[0]
    client = threading.Thread(target=lambda: _ignore_errors(server.get, "/?seconds=10"))
    client.start()
    wait_until(lambda: _connections_accepted(server) >= 1, 5, "the request never arrived")
    server.signal(signal.SIGTERM)
    assert server.wait(15) == 0
    client.join(15)
    line = server.wait_for_line(rf"Worker \(pid:{worker}\) was sent SIGKILL.*").group(0)
    assert "out of memory" not in line


def _ignore_errors(call, *args) -> None:
    try:
        call(*args)
    except OSError:
        pass  # the connection is cut when the worker is killed; that is the point


def test_term_lets_the_request_in_flight_finish(start_server):
    server = start_server("-w", "1", app="server_apps:slow").ready()
    result = {}

    def slow_request():
        result["response"] = server.get("/?seconds=1.5")

    client = threading.Thread(target=slow_request)
    client.start()
    wait_until(lambda: _connections_accepted(server) >= 1, 5, "the request never arrived")
    server.signal(signal.SIGTERM)
    client.join(15)
    assert status_of(result["response"]) == 200
    assert body_of(result["response"]).startswith(b"slept 1.5")
    assert server.wait(15) == 0


def _connections_accepted(server) -> int:
    """Established TCP connections to the server's port, from /proc/net/tcp."""
    port_hex = f":{server.port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[1].endswith(port_hex) and row[3] == "01")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGQUIT])
def test_int_stops_quickly(start_server, signum):
    server = start_server("-w", "2").ready(workers=2)
    workers = server.worker_pids()
    server.signal(signum)
    assert server.wait(10) == 0
    wait_until(lambda: not any(alive(pid) for pid in workers), 5, "workers outlived the master")


def test_max_requests_recycles_the_worker(start_server):
    server = start_server("-w", "1", "--max-requests", "3", app="server_apps:pid").ready()
    pids = [int(body_of(server.get("/"))) for _ in range(3)]
    assert len(set(pids)) == 1
    wait_until(lambda: server.worker_pids() and server.worker_pids()[0] != pids[0], 10,
               "the worker was not replaced after max_requests")
    assert int(body_of(server.get("/"))) != pids[0]


def test_unix_socket_serves_and_is_removed_on_exit(start_server, tmp_path):
    path = str(tmp_path / "unicorn.sock")
    server = start_server("-w", "1", bind=f"unix:{path}")
    server.wait_for_line(r"Listening at: unix:")
    wait_until(lambda: os.path.exists(path) and server.worker_pids(), 10, "no socket file")
    wait_until(lambda: _unix_accepts(path), 10, "the unix socket never answered")
    response = exchange(path, b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert status_of(response) == 200
    assert b'"PATH_INFO": "/x"' in response
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0
    assert not os.path.exists(path)


def _unix_accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(path)
            return True
        except OSError:
            return False


def test_pidfile_is_written_and_removed(start_server, tmp_path):
    pidfile = tmp_path / "unicorn.pid"
    server = start_server("-w", "1", "--pid", str(pidfile)).ready()
    assert int(pidfile.read_text()) == server.pid
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0
    assert not pidfile.exists()


def test_access_log_line(start_server):
    server = start_server("-w", "1", "--access-logfile", "-", app="server_apps:hello").ready()
    server.request(b"GET /path?q=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: probe/1\r\n"
                   b"Referer: http://ref/\r\nConnection: close\r\n\r\n")
    line = server.wait_for_line(r'127\.0\.0\.1 - - \[.*\] "GET /path\?q=1 HTTP/1\.1" 200 14 '
                                r'"http://ref/" "probe/1"')
    assert line


@pytest.mark.parametrize("worker", WORKERS)
def test_bad_app_attribute_exits_4_with_one_clear_message(start_server, worker):
    server = start_server("-k", worker, "-w", "2", app="server_apps:nope")
    assert server.wait(20) == 4
    assert "Failed to find attribute 'nope' in 'server_apps'" in server.output
    assert "App failed to load: server_apps:nope" in server.output
    assert server.output.count("Booting worker") <= 2  # no fork loop


@pytest.mark.parametrize("worker", WORKERS)
def test_missing_module_exits_4(start_server, worker):
    server = start_server("-k", worker, "-w", "1", app="no_such_module:app")
    assert server.wait(20) == 4
    assert "no_such_module" in server.output


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_that_fails_to_boot_exits_3(start_server, tmp_path, worker):
    config = tmp_path / "boot.conf.py"
    config.write_text("def post_worker_init(worker):\n    raise RuntimeError('no boot today')\n")
    server = start_server("-k", worker, "-w", "1", "-c", str(config))
    assert server.wait(20) == 3
    assert "no boot today" in server.output
    assert "Worker failed to boot." in server.output


def test_bind_failure_exits_1_naming_the_address(start_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server("-w", "1", bind=f"127.0.0.1:{port}")
        assert server.wait(30) == 1
    assert f"127.0.0.1:{port}" in server.output
    assert "in use" in server.output.lower()


def test_explain_narrates_process_events(start_server):
    server = start_server("-w", "1", "--explain").ready()
    worker = server.worker_pids()[0]
    server.wait_for_line(r'\[explain\] Forked worker \d+.*\(book: "The pre-fork model"\)')
    os.kill(worker, signal.SIGKILL)
    server.wait_for_line(rf'\[explain\] Reaped worker {worker} .*\(book: "The pre-fork model"\)')
    server.signal(signal.SIGTTIN)
    server.wait_for_line(r'\[explain\] Worker count changed from 1 to 2.*\(book: "Signals"\)')
    server.signal(signal.SIGTERM)
    server.wait_for_line(r'\[explain\] Received SIGTERM: graceful stop.*\(book: "Signals"\)')
    assert server.wait(10) == 0
    assert "Opened listening socket" in server.output


def test_reload_restarts_the_worker_when_the_app_changes(start_server, tmp_path):
    module = tmp_path / "changing_app.py"
    module.write_text(_greeting_app("first"))
    server = start_server("-w", "1", "--reload", app="changing_app:app", cwd=tmp_path).ready()
    assert body_of(server.get("/")) == b"first"
    old = server.worker_pids()[0]
    time.sleep(0.01)  # mtime granularity, not synchronisation
    module.write_text(_greeting_app("second"))
    os.utime(module, (time.time() + 5, time.time() + 5))
    wait_until(lambda: server.worker_pids() and server.worker_pids()[0] != old, 15,
               "the worker was not restarted after the change")
    wait_until(lambda: body_of(server.get("/")) == b"second", 10, "the new code is not served")


def _greeting_app(word: str) -> str:
    return (
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        f"    return [b'{word}']\n"
    )


def test_a_stalled_client_is_dropped_before_the_worker_is_killed(start_server):
    server = start_server("-w", "1", "--timeout", "2", app="server_apps:hello").ready()
    worker = server.worker_pids()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as stalled:
        stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        started = time.monotonic()
        assert stalled.recv(100) == b""  # the worker closed it
        assert time.monotonic() - started < 2
    assert status_of(server.get("/")) == 200
    assert server.worker_pids() == worker
    assert "WORKER TIMEOUT" not in server.output


def test_hup_with_a_broken_config_keeps_the_server_running(start_server, tmp_path):
    config = tmp_path / "live.conf.py"
    config.write_text("workers = 2\n")
    server = start_server("-c", str(config)).ready(workers=2)
    before = set(server.worker_pids())
    config.write_text("workers = 'many'\n")
    server.signal(signal.SIGHUP)
    server.wait_for_line(r"Reload refused, keeping the running configuration: "
                         r"Invalid value for workers")
    assert set(server.worker_pids()) == before
    assert status_of(server.get("/")) == 200
    config.write_text("workers = 3\n")
    server.signal(signal.SIGHUP)
    wait_until(lambda: len(server.worker_pids()) == 3 and not before & set(server.worker_pids()),
               15, "a fixed config was not applied on the next HUP")


def test_max_requests_jitter_spreads_the_restarts():
    from unicorn.workers.base import Worker

    budgets = {Worker._request_budget(100, 20) for _ in range(200)}
    assert min(budgets) >= 100 and max(budgets) <= 120
    assert len(budgets) > 5  # workers started together do not all restart together
    assert Worker._request_budget(0, 20) == sys.maxsize  # 0: never restart
