"""The reloader thread: real files, real imports, a short polling interval."""

import importlib
import os
import sys
import threading

import pytest

from unicorn.reloader import Reloader

INTERVAL = 0.01


class Changes:
    """Collects callback calls; `arrived` is set by the first."""

    def __init__(self):
        self.paths: list[str] = []
        self.arrived = threading.Event()

    def __call__(self, path: str) -> None:
        self.paths.append(path)
        self.arrived.set()


def touch_later(path, seconds: int = 10) -> None:
    """Give the file a different mtime than it had: the kernel's clock may not have ticked yet."""
    mtime_ns = os.stat(path).st_mtime_ns + seconds * 1_000_000_000
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def running():
    """Start reloaders and make sure they are stopped at the end."""
    started = []

    def start(reloader: Reloader) -> Reloader:
        started.append(reloader)
        reloader.start()
        return reloader

    yield start
    for reloader in started:
        reloader.stop()
        reloader.join(timeout=5)


def test_a_changed_extra_file_is_reported_once(tmp_path, running):
    config = tmp_path / "settings.toml"
    config.write_text("workers = 2\n")
    changes = Changes()
    reloader = running(Reloader(changes, extra_files=[str(config)], interval=INTERVAL))
    config.write_text("workers = 4\n")
    touch_later(config)
    assert changes.arrived.wait(timeout=5)
    reloader.join(timeout=5)  # it fires once and ends
    assert not reloader.is_alive()
    assert changes.paths == [str(config)]


def test_a_changed_module_source_is_reported(tmp_path, running, monkeypatch):
    module_file = tmp_path / "reloader_test_app.py"
    module_file.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("reloader_test_app")
    try:
        changes = Changes()
        reloader = running(Reloader(changes, interval=INTERVAL))
        assert str(module_file) in reloader.watched_files()
        module_file.write_text("VALUE = 2\n")
        touch_later(module_file)
        assert changes.arrived.wait(timeout=5)
        assert changes.paths == [str(module_file)]
    finally:
        del sys.modules["reloader_test_app"]


def test_only_watched_files_count(tmp_path, running):
    watched, other = tmp_path / "watched.txt", tmp_path / "other.txt"
    watched.write_text("a")
    other.write_text("a")
    changes = Changes()
    running(Reloader(changes, extra_files=[str(watched)], interval=INTERVAL))
    touch_later(other)
    touch_later(watched)
    assert changes.arrived.wait(timeout=5)
    assert changes.paths == [str(watched)]


def test_an_older_mtime_is_a_change_too(tmp_path, running):
    """`git checkout` of an older revision puts a file with an older mtime in place."""
    source = tmp_path / "app.py"
    source.write_text("new")
    changes = Changes()
    running(Reloader(changes, extra_files=[str(source)], interval=INTERVAL))
    touch_later(source, seconds=-3600)
    assert changes.arrived.wait(timeout=5)
    assert changes.paths == [str(source)]


def test_an_editor_saving_by_rename_is_a_change(tmp_path, running):
    source = tmp_path / "app.py"
    source.write_text("old")
    changes = Changes()
    running(Reloader(changes, extra_files=[str(source)], interval=INTERVAL))
    replacement = tmp_path / ".app.py.swp"
    replacement.write_text("new")
    touch_later(replacement)
    replacement.replace(source)
    assert changes.arrived.wait(timeout=5)
    assert changes.paths == [str(source)]


def test_relative_extra_files_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reloader = Reloader(lambda path: None, extra_files=["app.cfg"])
    assert reloader.extra_files == [str(tmp_path / "app.cfg")]


def test_stop_ends_the_thread(running):
    reloader = running(Reloader(Changes(), interval=INTERVAL))
    assert reloader.daemon
    assert reloader.is_alive()
    reloader.stop()
    reloader.join(timeout=5)
    assert not reloader.is_alive()
