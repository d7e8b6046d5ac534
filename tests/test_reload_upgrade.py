"""HUP and USR2 when things go wrong: each test is a way a reload or an upgrade
could have taken a running server down, shown not to."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from tests.server import APPS, ROOT, alive, body_of, children_of, exchange, status_of, wait_until


def unix_get(path: str, target: str = "/") -> bytes:
    return exchange(path, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .encode())


def serves_on_unix(path: str) -> bool:
    try:
        return status_of(unix_get(path)) == 200
    except (OSError, IndexError, ValueError):
        return False


def test_a_failed_usr2_upgrade_leaves_the_old_master_serving(start_server, tmp_path):
    sock = tmp_path / "app.sock"
    app = tmp_path / "deployed.py"
    app.write_text("def app(environ, start_response):\n"
                   "    start_response('200 OK', [])\n    return [b'v1']\n")
    server = start_server("-w", "1", bind=f"unix:{sock}", app="deployed:app", cwd=tmp_path)
    wait_until(lambda: serves_on_unix(str(sock)), 15, "v1 never served")
    app.write_text("raise RuntimeError('v2 is broken')\n")
    server.signal(signal.SIGUSR2)
    server.wait_for_line(r"App failed to load: deployed:app")  # the new master gave up
    server.wait_for_line(r"The master started by USR2 exited")
    assert sock.exists()
    assert body_of(unix_get(str(sock))) == b"v1"


def test_usr2_in_daemon_mode_hands_over_the_pidfile(tmp_path):
    pidfile = tmp_path / "d.pid"
    errorlog = tmp_path / "d.log"
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "unicorn", "-D", "-w", "1", "-b", "127.0.0.1:0",
                    "--pid", str(pidfile), "--error-logfile", str(errorlog), "server_apps:pid"],
                   cwd=APPS, env=environ, timeout=20, check=True)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "no pidfile")
    old = int(pidfile.read_text())
    new = None
    try:
        os.kill(old, signal.SIGUSR2)
        second = tmp_path / "d.pid.2"
        wait_until(lambda: second.exists() and second.read_text().strip(), 15, "no new master")
        new = int(second.read_text())
        assert new in children_of(old)  # not daemonized again: still the old master's child
        wait_until(lambda: children_of(new), 15, "the new master forked no worker")
        os.kill(old, signal.SIGTERM)
        wait_until(lambda: not alive(old), 15, "the old master did not stop")
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() == str(new), 15,
                   "the new master did not take the pidfile")
        assert alive(new)
    finally:
        for pid in (old, new):
            if pid and alive(pid):
                os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not any(pid and alive(pid) for pid in (old, new)), 15, "left running")


def test_daemon_mode_keeps_captured_output(tmp_path):
    errorlog = tmp_path / "captured.log"
    pidfile = tmp_path / "c.pid"
    app = tmp_path / "noisy.py"
    app.write_text("print('printed at import', flush=True)\n"
                   "def app(environ, start_response):\n"
                   "    start_response('200 OK', [])\n    return [b'ok']\n")
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "unicorn", "-D", "--capture-output", "-w", "1",
                    "-b", "127.0.0.1:0", "--pid", str(pidfile), "--error-logfile", str(errorlog),
                    "noisy:app"], cwd=tmp_path, env=environ, timeout=20, check=True)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "no pidfile")
    daemon = int(pidfile.read_text())
    try:
        wait_until(lambda: "printed at import" in errorlog.read_text(), 10,
                   "the app's output did not reach the error log")
    finally:
        os.kill(daemon, signal.SIGTERM)
        wait_until(lambda: not alive(daemon), 15, "the daemon did not stop")


def test_hup_that_adds_a_bind_keeps_the_old_one_and_opens_the_new(start_server, tmp_path):
    first, second = tmp_path / "first.sock", tmp_path / "second.sock"
    config = tmp_path / "binds.conf.py"
    config.write_text(f"bind = ['unix:{first}']\nworkers = 1\n")
    server = start_server("-c", str(config), bind=None)
    wait_until(lambda: serves_on_unix(str(first)), 15, "the first bind never served")
    config.write_text(f"bind = ['unix:{first}', 'unix:{second}']\nworkers = 1\n")
    server.signal(signal.SIGHUP)
    wait_until(lambda: serves_on_unix(str(second)), 15, "the new bind never served")
    assert serves_on_unix(str(first))
    assert alive(server.pid)


def test_hup_reads_relative_paths_from_where_unicorn_started(start_server):
    server = start_server("--chdir", "examples", "-w", "1", app="hello:app", cwd=ROOT).ready()
    before = server.worker_pids()
    server.signal(signal.SIGHUP)
    wait_until(lambda: server.worker_pids() and not set(before) & set(server.worker_pids()),
               15, "HUP did not replace the worker")
    assert "Reload refused" not in server.output
    assert body_of(server.get("/")) == b"Hello, world!\n"


def test_raw_env_does_not_leak_into_the_next_reload(start_server):
    server = start_server("-e", "WEB_CONCURRENCY=3").ready(workers=1)
    before = set(server.worker_pids())
    server.signal(signal.SIGHUP)
    wait_until(lambda: server.worker_pids() and not before & set(server.worker_pids()), 15,
               "HUP did not replace the worker")
    assert len(server.worker_pids()) == 1  # a leaked WEB_CONCURRENCY would have made it 3


def test_hup_with_a_broken_logconfig_keeps_the_server_running(start_server, tmp_path):
    config = tmp_path / "log.conf.py"
    config.write_text("workers = 1\n")
    server = start_server("-c", str(config)).ready()
    config.write_text("logconfig_dict = {'version': 1, 'handlers': {'h': {'class': 'no.Such'}}}\n")
    server.signal(signal.SIGHUP)
    server.wait_for_line(r"Reload refused, keeping the running configuration")
    assert status_of(server.get("/")) == 200
    assert alive(server.pid)


def test_startup_mistakes_are_one_line(tmp_path):
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    config = tmp_path / "badlog.conf.py"
    config.write_text("logconfig_dict = {'version': 1, 'handlers': {'h': {'class': 'no.Such'}}}\n")
    cases = [
        (["-k", "nosuch.Worker"], "Cannot load worker class 'nosuch.Worker'"),
        (["-c", str(config)], "Error: Cannot set up logging"),
        (["--worker-tmp-dir", "/nonexistent/dir"], "Invalid value for worker_tmp_dir"),
        (["--error-logfile", "/nonexistent/dir/x.log"], "Error: Cannot set up logging"),
    ]
    for args, message in cases:
        result = subprocess.run([sys.executable, "-m", "unicorn", "-b", "127.0.0.1:0", *args,
                                 "server_apps:app"], cwd=APPS, env=environ, timeout=20,
                                capture_output=True, text=True)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)


def test_int_during_a_graceful_stop_makes_it_quick(start_server):
    server = start_server("-w", "1", "--graceful-timeout", "30", app="server_apps:slow").ready()
    client = threading.Thread(target=lambda: server.get("/?seconds=20", timeout=30), daemon=True)
    client.start()
    wait_until(lambda: _busy(server), 5, "the slow request never started")
    server.signal(signal.SIGTERM)
    server.wait_for_line(r"Handling signal: term")
    started = time.monotonic()
    server.signal(signal.SIGINT)
    assert server.wait(15) == 0
    assert time.monotonic() - started < 5


def _busy(server) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        probe.connect(("127.0.0.1", server.port))
        probe.sendall(b"GET /?seconds=0 HTTP/1.0\r\n\r\n")
        try:
            return probe.recv(1) == b""  # the only worker is busy: no answer in time
        except TimeoutError:
            return True


def test_each_worker_holds_only_its_own_heartbeat(start_server):
    server = start_server("-w", "3").ready(workers=3)
    # Right after fork a child still holds its siblings' files, until it closes them.
    wait_until(lambda: all(heartbeats_held(pid) == 1 for pid in server.worker_pids()), 10,
               "a worker kept its siblings' heartbeat files")


def heartbeats_held(pid: int) -> int:
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # closed while we looked
    return sum("wunicorn-" in target for target in targets)
