"""Start a real `python -m unicorn` for a test and talk to it over real sockets.

The server binds port 0, so the kernel picks a free port; we learn it from the
"Listening at:" line. Every process is started in its own session and the
whole group is killed when the test ends, whatever happened.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"


class Server:
    def __init__(self, *args: str, app: str = "server_apps:app", env: dict | None = None,
                 bind: str | None = "127.0.0.1:0", cwd: Path = APPS,
                 launcher: tuple[str, ...] = ()) -> None:
        # `launcher` runs first and must exec the command it is given (its pid becomes ours).
        command = [*launcher, sys.executable, "-m", "unicorn"]
        if bind:
            command += ["-b", bind]
        command += [*args]
        if app:
            command.append(app)
        environ = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        environ.pop("UNICORN_CMD_ARGS", None)
        environ.update(env or {})
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            command, cwd=cwd, env=environ, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 10, count: int = 1) -> re.Match:
        """Wait until ``count`` log lines match ``pattern``; return the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [m for m in map(regex.search, self.lines) if m]
                if len(matches) >= count:
                    return matches[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(
                        f"no {count} line(s) matching {pattern!r}; output:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(min(left, 0.2))

    def address(self, timeout: float = 10) -> tuple[str, int]:
        match = self.wait_for_line(r"Listening at: https?://(\S+):(\d+)", timeout)
        return match.group(1), int(match.group(2))

    def ready(self, workers: int = 1, timeout: float = 15) -> "Server":
        """Wait for the listener and for ``workers`` workers to have booted."""
        self.port = self.address(timeout)[1]
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < workers:
            if time.monotonic() > deadline:
                raise AssertionError(f"{workers} workers never came up:\n{self.output}")
            time.sleep(0.02)
        wait_until(lambda: self._accepts(), timeout, "the server never accepted a connection")
        return self

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        return children_of(self.pid)

    def request(self, raw: bytes, timeout: float = 10) -> bytes:
        return exchange(("127.0.0.1", self.port), raw, timeout)

    def get(self, path: str = "/", timeout: float = 10) -> bytes:
        return self.request(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode(),
                            timeout)

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = 15) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        """Kill the server and everything it started (teardown)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass


def exchange(address, raw: bytes, timeout: float = 10) -> bytes:
    """Send ``raw``, then read until the server closes the connection."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(raw)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid``, from /proc (Linux)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)
