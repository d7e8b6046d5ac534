"""The pidfile: atomic writes, refusing a live owner, the USR2 rename, careful unlinking."""

import os
import stat
import subprocess
import sys

import pytest

from unicorn.pidfile import Pidfile, PidfileError


@pytest.fixture
def live_process():
    """Another process that is alive for the whole test."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_create_writes_the_pid_readable_by_all(tmp_path):
    path = tmp_path / "unicorn.pid"
    pidfile = Pidfile(str(path))
    pidfile.create(os.getpid())
    assert path.read_text() == f"{os.getpid()}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert pidfile.pid == os.getpid()
    assert pidfile.validate() == os.getpid()


def test_create_leaves_no_temporary_file_behind(tmp_path):
    Pidfile(str(tmp_path / "unicorn.pid")).create(os.getpid())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unicorn.pid"]


def test_create_replaces_the_file_rather_than_rewriting_it(tmp_path):
    """A reader that opened the old file still reads a whole pid: the new one is a new inode."""
    path = tmp_path / "unicorn.pid"
    path.write_text(f"{dead_pid()}\n")
    with open(path) as reader:
        Pidfile(str(path)).create(os.getpid())
        assert reader.read() != ""
    assert path.read_text() == f"{os.getpid()}\n"


def test_create_refuses_a_file_naming_another_live_process(tmp_path, live_process):
    path = tmp_path / "unicorn.pid"
    path.write_text(f"{live_process}\n")
    with pytest.raises(PidfileError) as caught:
        Pidfile(str(path)).create(os.getpid())
    assert str(caught.value) == f"Already running on PID {live_process} (or pid file '{path}' is stale)"
    assert path.read_text() == f"{live_process}\n"


def test_create_overwrites_a_stale_pid(tmp_path):
    path = tmp_path / "unicorn.pid"
    path.write_text(f"{dead_pid()}\n")
    Pidfile(str(path)).create(os.getpid())
    assert path.read_text() == f"{os.getpid()}\n"


@pytest.mark.parametrize("content", ["", "garbage\n", "0\n", "-1\n", "12 34\n"])
def test_content_that_is_not_a_pid_is_ignored(tmp_path, content):
    path = tmp_path / "unicorn.pid"
    path.write_text(content)
    pidfile = Pidfile(str(path))
    assert pidfile.validate() is None
    pidfile.create(os.getpid())
    assert path.read_text() == f"{os.getpid()}\n"


def test_create_may_rewrite_our_own_pid(tmp_path):
    path = tmp_path / "unicorn.pid"
    Pidfile(str(path)).create(os.getpid())
    Pidfile(str(path)).create(os.getpid())
    assert path.read_text() == f"{os.getpid()}\n"


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(PidfileError, match="doesn't exist. Can't create pidfile"):
        Pidfile(str(tmp_path / "no-such-dir" / "unicorn.pid")).create(os.getpid())


def test_validate_without_a_file_is_none(tmp_path):
    assert Pidfile(str(tmp_path / "unicorn.pid")).validate() is None


def test_validate_returns_a_live_pid(tmp_path, live_process):
    path = tmp_path / "unicorn.pid"
    path.write_text(f"{live_process}\n")
    assert Pidfile(str(path)).validate() == live_process


def test_usr2_rename_moves_the_new_masters_pidfile_to_the_usual_name(tmp_path):
    usual = tmp_path / "unicorn.pid"
    usual.write_text(f"{dead_pid()}\n")  # the old master wrote this and has just exited
    pidfile = Pidfile(f"{usual}.2")
    pidfile.create(os.getpid())
    pidfile.rename(str(usual))
    assert usual.read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / "unicorn.pid.2").exists()
    assert pidfile.path == str(usual)
    pidfile.unlink()
    assert not usual.exists()


def test_rename_refuses_while_the_old_master_is_alive(tmp_path, live_process):
    usual = tmp_path / "unicorn.pid"
    usual.write_text(f"{live_process}\n")
    pidfile = Pidfile(f"{usual}.2")
    pidfile.create(os.getpid())
    with pytest.raises(PidfileError, match=f"Already running on PID {live_process}"):
        pidfile.rename(str(usual))
    assert (tmp_path / "unicorn.pid.2").read_text() == f"{os.getpid()}\n"


def test_rename_before_create_is_an_error(tmp_path):
    with pytest.raises(PidfileError, match="create\\(\\) was never called"):
        Pidfile(str(tmp_path / "a.pid")).rename(str(tmp_path / "b.pid"))


def test_unlink_removes_only_a_file_holding_our_pid(tmp_path, live_process):
    path = tmp_path / "unicorn.pid"
    pidfile = Pidfile(str(path))
    pidfile.create(os.getpid())
    path.write_text(f"{live_process}\n")  # a successor has taken the name over
    pidfile.unlink()
    assert path.read_text() == f"{live_process}\n"


def test_unlink_is_quiet_when_the_file_is_gone(tmp_path):
    path = tmp_path / "unicorn.pid"
    pidfile = Pidfile(str(path))
    pidfile.unlink()  # never created
    pidfile.create(os.getpid())
    path.unlink()
    pidfile.unlink()
    assert not path.exists()
