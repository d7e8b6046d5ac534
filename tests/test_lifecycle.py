"""Hooks, log reopening, the USR2 upgrade and daemon mode, each seen in real processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.server import APPS, ROOT, alive, body_of, status_of, wait_until

HOOKS_CONFIG = '''
import os
import socket

def _record(name):
    with open({path!r}, "a") as out:
        out.write(f"{{name}} {{os.getpid()}}\\n")

def on_starting(server): _record("on_starting")
def when_ready(server): _record("when_ready")
def on_reload(server): _record("on_reload")
def pre_fork(server, worker): _record("pre_fork")
def post_fork(server, worker): _record("post_fork")
def post_worker_init(worker): _record("post_worker_init")
def worker_int(worker): _record("worker_int")
def worker_abort(worker): _record("worker_abort")
def pre_exec(server): _record("pre_exec")
def pre_request(worker, req): _record("pre_request " + req.target)
def post_request(worker, req, environ, resp): _record("post_request " + resp.status)
def child_exit(server, worker): _record("child_exit")
def worker_exit(server, worker): _record("worker_exit")
def nworkers_changed(server, new, old): _record(f"nworkers_changed {{old}}->{{new}}")
def on_exit(server): _record("on_exit")
'''


def hooks_config(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "hooks.log"
    config = tmp_path / "hooks.conf.py"
    config.write_text(HOOKS_CONFIG.format(path=str(record)))
    return config, record


def recorded(record: Path) -> list[str]:
    return [line.split(" ")[0] for line in record.read_text().splitlines()] if record.exists() else []


def test_every_hook_is_called_at_its_moment(start_server, tmp_path):
    config, record = hooks_config(tmp_path)
    server = start_server("-w", "1", "-c", str(config)).ready()
    wait_until(lambda: "post_worker_init" in recorded(record), 10, "worker hooks missing")
    assert server.get("/hooked").startswith(b"HTTP/1.1 200")
    wait_until(lambda: "post_request" in recorded(record), 5, "request hooks missing")
    lines = record.read_text()
    assert "pre_request /hooked" in lines and "post_request 200 OK" in lines
    assert "nworkers_changed None->1" in record.read_text()  # at start, as gunicorn does
    server.signal(signal.SIGTTIN)
    wait_until(lambda: "nworkers_changed 1->2" in record.read_text(), 5,
               "nworkers_changed missing after TTIN")
    server.signal(signal.SIGHUP)
    wait_until(lambda: "on_reload" in recorded(record), 10, "on_reload missing")
    wait_until(lambda: "child_exit" in recorded(record), 10, "child_exit missing")
    server.signal(signal.SIGTERM)
    assert server.wait(15) == 0
    names = recorded(record)
    assert names[0] == "on_starting"
    assert names.index("nworkers_changed") < names.index("when_ready") < names.index("pre_fork")
    assert names.index("pre_fork") < names.index("post_fork") < names.index("post_worker_init")
    for name in ("worker_exit", "on_exit"):
        assert name in names
    assert names[-1] == "on_exit"


def test_worker_int_and_worker_abort_hooks(start_server, tmp_path):
    config, record = hooks_config(tmp_path)
    server = start_server("-w", "1", "--timeout", "2", "-c", str(config), app="server_apps:slow").ready()
    assert status_of(server.get("/?seconds=30", timeout=20)) == 500
    wait_until(lambda: "worker_abort" in recorded(record), 10, "worker_abort missing")
    wait_until(lambda: recorded(record).count("post_worker_init") == 2, 10, "no new worker")
    server.signal(signal.SIGINT)
    assert server.wait(15) == 0
    assert "worker_int" in recorded(record)


def test_usr1_reopens_the_log_files(start_server, tmp_path):
    errorlog = tmp_path / "error.log"
    server = start_server("-w", "1", "--error-logfile", str(errorlog), bind=None)
    wait_until(lambda: errorlog.exists() and "Booting worker" in errorlog.read_text(), 10,
               "the error log was not written")
    rotated = tmp_path / "error.log.1"
    errorlog.rename(rotated)
    server.signal(signal.SIGUSR1)
    wait_until(lambda: errorlog.exists(), 10, "the log file was not reopened")
    server.signal(signal.SIGTTIN)
    wait_until(lambda: "Handling signal: ttin" in errorlog.read_text(), 10,
               "new lines do not go to the reopened file")
    assert "Handling signal: usr1" in rotated.read_text()
    assert "Handling signal: ttin" not in rotated.read_text()
    server.signal(signal.SIGTERM)
    assert server.wait(10) == 0


def test_usr2_upgrades_with_no_downtime(start_server, tmp_path):
    pidfile = tmp_path / "app.pid"
    config, record = hooks_config(tmp_path)
    server = start_server("-w", "1", "--pid", str(pidfile), "-c", str(config),
                          app="server_apps:pid").ready()
    old_master = server.pid
    old_worker = int(body_of(server.get("/")))
    server.signal(signal.SIGUSR2)
    new_pidfile = Path(str(pidfile) + ".2")
    wait_until(lambda: new_pidfile.exists() and new_pidfile.read_text().strip(), 15,
               "the new master wrote no pidfile")
    new_master = int(new_pidfile.read_text())
    assert new_master != old_master
    assert f"pre_exec {new_master}" in record.read_text()  # in the forked child, before exec
    assert f"on_starting {new_master}" in record.read_text()
    assert int(pidfile.read_text()) == old_master
    wait_until(lambda: len(server.worker_pids()) == 2, 15, "old master lost its worker")
    wait_until(lambda: _children(new_master), 15, "the new master forked no worker")
    server.signal(signal.SIGTERM)
    assert server.wait(15) == 0
    assert not alive(old_worker)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() == str(new_master), 15,
               "the new master did not take the usual pidfile name")
    assert not new_pidfile.exists()
    new_worker = int(body_of(server.get("/")))
    assert new_worker in _children(new_master)
    os.kill(new_master, signal.SIGTERM)
    wait_until(lambda: not alive(new_master), 15, "the new master did not stop")


def _children(pid: int) -> list[int]:
    from tests.server import children_of

    return children_of(pid)


def test_daemon_mode_detaches_and_writes_a_pidfile(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    errorlog = tmp_path / "daemon.log"
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    started = subprocess.run(
        [sys.executable, "-m", "unicorn", "-D", "-w", "1", "-b", "127.0.0.1:0", "--pid",
         str(pidfile), "--error-logfile", str(errorlog), "server_apps:hello"],
        cwd=APPS, env=environ, timeout=20,
    )
    assert started.returncode == 0  # the command returns at once; the server lives on
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "no pidfile")
    daemon = int(pidfile.read_text())
    try:
        assert alive(daemon)
        # A new session (no controlling terminal) that it does not lead, so it can never get one.
        assert os.getsid(daemon) not in (os.getsid(0), daemon)
        wait_until(lambda: "Booting worker" in errorlog.read_text(), 10, "no worker booted")
        wait_until(lambda: _children(daemon), 10, "the daemon has no worker")
        os.kill(daemon, signal.SIGWINCH)  # daemonized: stop the workers, keep the master
        wait_until(lambda: not _children(daemon), 10, "WINCH did not stop the workers")
        assert alive(daemon)
    finally:
        os.kill(daemon, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while alive(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(daemon)
    assert not pidfile.exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_systemd_socket_activation_end_to_end(tmp_path):
    """systemd-socket-activate opens the socket and execs unicorn with LISTEN_FDS=1."""
    port = _free_port()
    command = ["systemd-socket-activate", "-l", f"127.0.0.1:{port}",
               "-E", f"PYTHONPATH={ROOT}", sys.executable, "-m", "unicorn", "-w", "1",
               "--chdir", str(APPS), "server_apps:hello"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        wait_until(lambda: _answers(port), 20, "the socket-activated server never answered")
        from tests.server import exchange

        response = exchange(("127.0.0.1", port), b"GET / HTTP/1.0\r\n\r\n")
        assert body_of(response) == b"Hello, world!\n"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=15)[0]
    assert f"Listening at: http://127.0.0.1:{port}" in output


def _answers(port: int) -> bool:
    from tests.server import exchange

    try:
        return exchange(("127.0.0.1", port), b"GET / HTTP/1.0\r\n\r\n", timeout=2).startswith(
            b"HTTP/1.1 200")
    except OSError:
        return False


def test_fd_bind_adopts_an_inherited_socket(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    fd = listener.fileno()
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "unicorn", "-w", "1", "-b", f"fd://{fd}", "server_apps:hello"],
        cwd=APPS, env=environ, pass_fds=[fd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    listener.close()  # the server's copy is the only one left
    try:
        wait_until(lambda: _answers(port), 20, "the server never answered on the passed fd")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=15)[0]
    assert f"Listening at: http://127.0.0.1:{port}" in output


def test_systemd_hears_ready_and_stopping(start_server, tmp_path):
    """Type=notify: READY=1 once the workers are forked, STOPPING=1 on TERM."""
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(path)
        notify.settimeout(15)
        server = start_server("-w", "1", env={"NOTIFY_SOCKET": path}).ready()
        assert notify.recv(1024) == b"READY=1"
        server.signal(signal.SIGTERM)
        assert notify.recv(1024) == b"STOPPING=1"
        assert server.wait(10) == 0
