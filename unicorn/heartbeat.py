"""A worker's heartbeat: an unlinked temporary file whose ctime the worker keeps moving.

The master creates one per worker before fork; the worker beats, the master
reads the time of the last beat, and kills a worker whose heartbeat is older
than --timeout.

Explained in the chapter "Heartbeats and timeouts".
gunicorn: gunicorn/workers/workertmp.py.
Left out: Cygwin, which cannot unlink an open file.
"""

import os
import tempfile


class Heartbeat:
    """The worker's proof of life, shared with the master through one fd.

    Why a file: the master can sample it whenever it likes with one fstat(), and a worker that
    beats a thousand times between two samples costs the master nothing. A pipe would carry
    messages the master must read, and one it stops reading fills up and blocks the worker.

    Why ctime: beat() is fchmod(), which touches only the inode, never data blocks, so a beat
    cannot wait on a disk write. Any inode change sets ctime to the kernel's clock, and nobody can
    set ctime by hand. mtime would need a write() or utime() instead. (gunicorn today writes
    time.monotonic() into mtime with utime(), which is immune to wall-clock jumps; our master
    compares ctime with time.time(), so stepping the clock forward can make every worker look late.)

    Why --worker-tmp-dir=/dev/shm: on Docker-like systems /tmp is an overlay on a real disk, and
    an inode update there can stall behind other disk traffic for longer than --timeout: the
    worker is blocked in fchmod() and the master kills a healthy worker. /dev/shm is tmpfs, in
    memory, so a beat never waits for a disk.
    """

    # Each beat flips between these, so every beat is a real change no filesystem can skip.
    MODES = (0o600, 0o400)

    def __init__(self, tmp_dir: str | None = None, uid: int | None = None, gid: int | None = None):
        if tmp_dir is not None and not os.path.isdir(tmp_dir):
            raise RuntimeError(f"{tmp_dir} doesn't exist. Can't create the worker heartbeat file.")
        self.fd, path = tempfile.mkstemp(prefix="wunicorn-", dir=tmp_dir)
        # Unlinked at once, so a crash leaves nothing behind; the open fd keeps the inode alive
        # for as long as the master and the worker hold it.
        os.unlink(path)
        if uid is not None or gid is not None:
            # fchmod() is allowed only to the owner: a worker that will drop privileges to
            # another user must own its heartbeat, or its first beat fails with EPERM.
            os.fchown(self.fd, -1 if uid is None else uid, -1 if gid is None else gid)
        self._flip = False

    def beat(self) -> None:
        """Called by the worker, at least once per --timeout, from its main loop."""
        self._flip = not self._flip
        os.fchmod(self.fd, self.MODES[self._flip])

    def last_beat(self) -> float:
        """Called by the master: the wall-clock time (time.time() scale) of the last beat."""
        return os.fstat(self.fd).st_ctime

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        """Close our copy of the fd. Master and worker each close their own; twice is harmless."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
