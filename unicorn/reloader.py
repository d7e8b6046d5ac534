"""--reload: a thread that polls the source files of the loaded modules and reports a change.

A worker runs one and exits when it fires; the master forks a new worker,
which imports the new code.

Explained in the chapter "Reloads and upgrades".
gunicorn: gunicorn/reloader.py (its polling Reloader).
Left out: the inotify engine (it needs a third-party package) and glob patterns in extra_files.
"""

import os
import sys
import threading
from collections.abc import Callable, Iterable


class Reloader(threading.Thread):
    """Polls file modification times every `interval` seconds; calls `callback(path)` once.

    The callback runs in this thread, once, for the first changed file seen; then the thread ends.
    The process is about to be replaced, and a second call while it shuts down would only get in
    the way. The baseline is taken in the constructor: a change made after Reloader() returns is
    reported even if it happens before start().
    """

    def __init__(
        self,
        callback: Callable[[str], object],
        extra_files: Iterable[str] = (),
        interval: float = 1.0,
    ):
        super().__init__(name="unicorn-reloader", daemon=True)  # must not keep a worker alive
        self.callback = callback
        self.extra_files = [os.path.abspath(path) for path in extra_files]
        self.interval = interval
        self._stopped = threading.Event()
        self._mtimes = self._scan()

    def stop(self) -> None:
        """Ask the thread to end; it does within one interval. join() to wait for it."""
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            changed = self._first_change()
            if changed is not None:
                self.callback(changed)
                return

    def watched_files(self) -> list[str]:
        """The source file of every module imported so far, plus the extra files."""
        paths = []
        # A copy: the application's threads may import modules while we iterate.
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                # A module loaded from a bare .pyc (no source beside it): watch the name
                # its source would have, which is the file a person would edit.
                paths.append(path[:-1] if path.endswith((".pyc", ".pyo")) else path)
        return paths + self.extra_files

    def _scan(self) -> dict[str, int]:
        mtimes = {}
        for path in self.watched_files():
            try:
                mtimes[path] = os.stat(path).st_mtime_ns
            except OSError:
                # Missing for now: an editor saving by "write a copy, rename over" has a short gap.
                continue
        return mtimes

    def _first_change(self) -> str | None:
        current = self._scan()
        for path, mtime in current.items():
            if path not in self._mtimes:
                self._mtimes[path] = mtime  # imported (or created) since the last scan: a baseline
            elif mtime != self._mtimes[path]:
                # '!=' rather than '>': a `git checkout` can put an older file in place.
                return path
        return None
