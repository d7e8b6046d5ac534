"""Settings whose effect is only visible in a running server: preload, user, names, sendfile."""

import os
import pwd
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from tests.server import body_of, status_of, wait_until


def test_preload_imports_the_app_in_the_master(start_server):
    server = start_server("-w", "2", "--preload", app="server_apps:importer").ready(workers=2)
    imported_by, served_by, _ = map(int, body_of(server.get("/")).split())
    assert imported_by == server.pid
    assert served_by in server.worker_pids()


def test_without_preload_each_worker_imports_the_app(start_server):
    server = start_server("-w", "1", app="server_apps:importer").ready()
    imported_by, served_by, _ = map(int, body_of(server.get("/")).split())
    assert imported_by == served_by != server.pid


def test_preload_of_a_bad_app_exits_4_from_the_master(start_server):
    server = start_server("-w", "2", "--preload", app="server_apps:missing")
    assert server.wait(20) == 4
    assert "Failed to find attribute 'missing' in 'server_apps'" in server.output
    assert "Booting worker" not in server.output


def test_process_names_tell_master_from_worker(start_server):
    server = start_server("-w", "1").ready()
    comm = lambda pid: open(f"/proc/{pid}/comm").read().strip()  # noqa: E731
    assert comm(server.pid) == "unicorn: master"
    # The worker names itself as it boots, a moment after the master logs "Booting worker".
    worker = server.worker_pids()[0]
    wait_until(lambda: comm(worker) == "unicorn: worker", 5,
               f"the worker is still called {comm(worker)!r}")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_workers_run_as_the_configured_user(start_server, tmp_path):
    nobody = pwd.getpwnam("nobody")
    tmp_path.chmod(0o755)
    # --preload: here Python itself lives under /root, which nobody may not read, so the
    # app is imported by the master before the workers drop their rights.
    server = start_server("-w", "1", "-u", "nobody", "-g", str(nobody.pw_gid), "--preload",
                          app="server_apps:importer").ready()
    assert real_uid(server.pid) == 0  # the master keeps its rights, to bind and to fork
    assert real_uid(server.worker_pids()[0]) == nobody.pw_uid
    assert int(body_of(server.get("/")).split()[2]) == nobody.pw_uid


# Starts the master as a shell of root's might: with supplementary groups root (0) and adm (4).
WITH_ROOTS_GROUPS = (sys.executable, "-c",
                     "import os, sys; os.setgroups([0, 4]); os.execv(sys.argv[1], sys.argv[1:])")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
@pytest.mark.parametrize("initgroups", [False, True])
def test_workers_keep_none_of_roots_supplementary_groups(start_server, initgroups):
    nobody = pwd.getpwnam("nobody")
    flags = ["--initgroups"] if initgroups else []
    server = start_server("-w", "1", "-u", "nobody", "-g", str(nobody.pw_gid), "--preload",
                          *flags, app="server_apps:importer", launcher=WITH_ROOTS_GROUPS).ready()
    assert groups_of(server.pid) == {0, 4}
    worker = server.worker_pids()[0]
    wait_until(lambda: real_uid(worker) == nobody.pw_uid, 5, "the worker never switched user")
    # nobody belongs to no group in /etc/group, so --initgroups leaves only its own group.
    expected = {nobody.pw_gid} if initgroups else set()
    assert groups_of(worker) == expected


def groups_of(pid: int) -> set[int]:
    status = open(f"/proc/{pid}/status").read()
    return set(map(int, status.split("\nGroups:")[1].split("\n")[0].split()))


def real_uid(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(status.split("\nUid:")[1].split()[0])


def test_file_wrapper_without_sendfile_sends_the_same_bytes(start_server):
    server = start_server("-w", "1", "--no-sendfile", app="server_apps:file").ready()
    response = server.get("/")
    assert status_of(response) == 200
    expected = open(os.path.join(os.path.dirname(__file__), "apps", "server_apps.py"), "rb").read()
    assert body_of(response).endswith(b"0\r\n\r\n")  # no length known: chunked
    assert expected[:200] in body_of(response)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_usr1_hands_a_new_log_file_to_the_workers_user(start_server):
    """Rotation without logrotate's `create`: the master makes the new file, as root, and
    must give it to the workers' user, or their reopen is refused."""
    nobody = pwd.getpwnam("nobody")
    logs = Path(tempfile.mkdtemp(prefix="unicorn-usr1-"))  # not under pytest's 0700 tmp dirs
    try:
        logs.chmod(0o755)
        access_log = logs / "access.log"
        server = start_server("-w", "2", "-u", "nobody", "-g", str(nobody.pw_gid), "--preload",
                              "--access-logfile", str(access_log),
                              app="server_apps:importer").ready(workers=2)
        workers = sorted(server.worker_pids())
        assert status_of(server.get("/before")) == 200
        access_log.rename(logs / "access.log.1")
        server.signal(signal.SIGUSR1)
        wait_until(lambda: access_log.exists() and access_log.stat().st_uid == nobody.pw_uid,
                   10, "the master did not recreate access.log for the workers' user")
        # Each worker reopens when its USR1 arrives, a moment after the master's: ask until
        # both workers have written to the new file.
        wait_until(lambda: status_of(server.get("/after")) == 200
                   and access_log.read_text().count("/after") >= 4, 10,
                   "requests after USR1 did not reach the new access.log")
        assert sorted(server.worker_pids()) == workers, "a worker died reopening its log"
        assert "Cannot reopen" not in server.output
    finally:
        shutil.rmtree(logs, ignore_errors=True)
