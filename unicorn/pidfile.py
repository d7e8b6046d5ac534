"""The pidfile: where scripts and init systems find the master's pid to send it signals.

During a USR2 upgrade the new master writes <path>.2 and renames it to <path>
once the old master has gone, so `kill -HUP $(cat app.pid)` always reaches
the master that is in charge.

Explained in the chapter "Reloads and upgrades".
gunicorn: gunicorn/pidfile.py.
Left out: a pidfile in a temporary file when no path is given (gunicorn does that for --daemon).
"""

import os
import tempfile


class PidfileError(RuntimeError):
    """The pidfile cannot be written; str() says why in one line."""


class Pidfile:
    """One pidfile path, and the pid this process wrote there (None until create())."""

    def __init__(self, path: str):
        self.path = path
        self.pid: int | None = None

    def create(self, pid: int) -> None:
        """Write `pid` to the file, refusing if it names another live process.

        The write is atomic: a temporary file in the same directory is renamed over the path, so a
        reader sees the old content or the new, never an empty or half-written file.
        """
        running = self.validate()
        if running is not None and running not in (pid, os.getpid()):
            raise PidfileError(
                f"Already running on PID {running} (or pid file {self.path!r} is stale)"
            )
        _write_atomically(self.path, f"{pid}\n")
        self.pid = pid

    def rename(self, new_path: str) -> None:
        """Move our pidfile to `new_path`, as a USR2 successor does: <path>.2 -> <path>.

        The new file is written before the old one is removed, so there is never a moment with
        no pidfile for a monitoring script to find.
        """
        if self.pid is None:
            raise PidfileError(f"cannot rename {self.path!r}: create() was never called")
        successor = Pidfile(new_path)
        successor.create(self.pid)
        self.unlink()
        self.path = new_path

    def unlink(self) -> None:
        """Delete the file, but only if it still holds our pid.

        After a USR2 upgrade the file may already name the successor when the old master exits;
        deleting it then would leave the running server without a pidfile.
        """
        if self.pid is not None and _read_pid(self.path) == self.pid:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def validate(self) -> int | None:
        """The pid written in the file if that process is alive, else None.

        None for a missing file, for content that is not a pid, and for a pid with no process:
        a master killed with SIGKILL leaves its pidfile behind, and that must not block a restart.
        """
        pid = _read_pid(self.path)
        if pid is None:
            return None
        return pid if _process_exists(pid) else None


def _read_pid(path: str) -> int | None:
    try:
        with open(path) as file:
            text = file.read().strip()
    except FileNotFoundError:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    pid = int(text)
    # Never trust 0: os.kill(0, sig) signals our whole process group.
    return pid if pid > 0 else None


def _process_exists(pid: int) -> bool:
    """Signal 0 checks that a process exists without sending it anything.

    A zombie, a process that exited but was not yet reaped, still "exists";
    it counts as gone. (A daemon's parent is init, and in a container the
    process playing init may never reap it.)
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, and belongs to another user
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False  # no /proc (not Linux): trust signal 0


def _write_atomically(path: str, content: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise PidfileError(f"{directory} doesn't exist. Can't create pidfile {path!r}.")
    # Same directory as the target, because rename() is atomic only within one filesystem.
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(content)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; others must read the pid
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
