"""The heartbeat file: unlinked at birth, beaten by the worker, read by the master across fork."""

import os
import stat
import time

import pytest

from unicorn.heartbeat import Heartbeat


def beat_until_it_shows(heartbeat: Heartbeat, before: float, timeout: float = 5.0) -> bool:
    """Beat until last_beat() moves past `before`.

    The kernel stamps ctime from a coarse clock (a few milliseconds per tick), so a beat in the
    same tick as the previous stamp leaves ctime where it was; the next tick moves it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heartbeat.beat()
        if heartbeat.last_beat() > before:
            return True
    return False


@pytest.fixture
def heartbeat(tmp_path):
    heartbeat = Heartbeat(str(tmp_path))
    yield heartbeat
    heartbeat.close()


def test_the_file_is_unlinked_at_once(tmp_path, heartbeat):
    assert list(tmp_path.iterdir()) == []
    assert os.fstat(heartbeat.fileno()).st_nlink == 0


def test_a_beat_moves_last_beat_forward(heartbeat):
    before = heartbeat.last_beat()
    assert beat_until_it_shows(heartbeat, before)
    assert heartbeat.last_beat() <= time.time() + 1


def test_without_beats_last_beat_stays_put(heartbeat):
    assert heartbeat.last_beat() == heartbeat.last_beat()


def test_each_beat_flips_the_mode(heartbeat):
    modes = []
    for _ in range(4):
        heartbeat.beat()
        modes.append(stat.S_IMODE(os.fstat(heartbeat.fileno()).st_mode))
    assert modes == [0o400, 0o600, 0o400, 0o600]


def test_a_beat_in_the_child_is_seen_by_the_parent(heartbeat):
    """Created before fork, as the master does, so both processes hold the same inode."""
    before = heartbeat.last_beat()
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            os._exit(0 if beat_until_it_shows(heartbeat, before) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert heartbeat.last_beat() > before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to another user")
@pytest.mark.parametrize("chown, expected_exit", [(True, 0), (False, 3)])
def test_a_worker_that_drops_privileges_can_beat_only_a_file_it_owns(tmp_path, chown, expected_exit):
    nobody = 65534
    heartbeat = Heartbeat(str(tmp_path), uid=nobody, gid=nobody) if chown else Heartbeat(str(tmp_path))
    try:
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(nobody)
                os.setuid(nobody)
                heartbeat.beat()
                os._exit(0)
            except PermissionError:
                os._exit(3)
            finally:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == expected_exit
    finally:
        heartbeat.close()


def test_dev_shm_works_where_it_exists():
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    heartbeat = Heartbeat("/dev/shm")
    try:
        assert beat_until_it_shows(heartbeat, heartbeat.last_beat())
    finally:
        heartbeat.close()


def test_default_directory_is_the_system_temp_dir():
    heartbeat = Heartbeat()
    try:
        assert os.fstat(heartbeat.fileno()).st_nlink == 0
    finally:
        heartbeat.close()


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="doesn't exist. Can't create the worker heartbeat file"):
        Heartbeat(str(tmp_path / "missing"))


def test_close_twice_is_harmless(tmp_path):
    heartbeat = Heartbeat(str(tmp_path))
    fd = heartbeat.fileno()
    heartbeat.close()
    heartbeat.close()
    with pytest.raises(OSError):
        os.fstat(fd)
