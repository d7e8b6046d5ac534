"""The servers under test: start one in its own process group, wait for it, measure it, stop it.

Used by compare.py for both unicorn and gunicorn, with the same command-line
settings, so whatever differs between the two runs is the server itself.
Also here: the time from launch to the first 200, and each worker's RSS.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
STARTUP_SECONDS = 20  # how long a server may take to answer its first request
STOP_SECONDS = 10  # how long a server may take to exit after SIGTERM before SIGKILL
# How often a starting server is asked for its first 200. Both start in about
# 80 ms here, so a coarser poll would round the launch time by a tenth or more.
POLL_SECONDS = 0.002


@dataclass
class Server:
    """One server under test (unicorn or gunicorn), running in its own process group."""

    name: str  # "unicorn" or "gunicorn": the module run with python -m
    settings: list[str]  # the same for both servers
    app: str  # module:variable, found in bench/ through PYTHONPATH
    log_path: Path
    environment: dict[str, str]  # extra variables for the app (bench/apps.py reads them)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start the server and wait for its first 200; return the seconds that took."""
        self.port = free_port()
        command = [sys.executable, "-m", self.name, *self.settings,
                   "-b", f"127.0.0.1:{self.port}", self.app]
        python_path = os.pathsep.join([str(BENCH_DIR), str(REPO_ROOT)])
        environment = dict(os.environ, PYTHONPATH=python_path, **self.environment)
        started = time.monotonic()
        # The server gets its own copy of the log's descriptor, so ours may close
        # as soon as Popen returns. process_group=0 puts the master and its
        # workers in a new group that stop() can signal as one.
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=BENCH_DIR, env=environment, process_group=0,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        self.wait_until_serving()
        return time.monotonic() - started

    def wait_until_serving(self) -> None:
        """Poll with a real request until the server answers 200, or give up."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.output()}")
            if answers_200(self.port):
                return
            time.sleep(POLL_SECONDS)  # a polling interval, bounded by the deadline
        raise RuntimeError(f"{self.name} did not answer within {STARTUP_SECONDS} s:\n"
                           f"{self.output()}")

    def stop(self) -> None:
        """SIGTERM the whole group, then SIGKILL whatever outlives STOP_SECONDS."""
        if self.process is None:
            return
        if self.process.poll() is None:
            signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        # Workers may outlive a master that died: clean up the group either way.
        signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)
        self.process = None

    def worker_rss_mib(self) -> list[float]:
        """The resident memory of each worker (the master's children), in MiB."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [resident_mib(int(child)) for child in children]

    def output(self) -> str:
        """The end of what the server wrote, to explain a failure."""
        return self.log_path.read_text(errors="replace")[-4000:]


def resident_mib(pid: int) -> float:
    """VmRSS from /proc/PID/status (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # the kernel gives kB
    raise RuntimeError(f"no VmRSS for process {pid}")


def signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass  # the group has already gone


def answers_200(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def free_port() -> int:
    """A loopback port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
