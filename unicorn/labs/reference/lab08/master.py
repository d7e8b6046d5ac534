"""Lab 8's reference: unicorn's heartbeat, its master's check and its request budget, and unicorn
as the master.

Heartbeat adapts unicorn/heartbeat.py; murder_workers runs Arbiter.murder_workers over the lab's
Worker records; request_budget is Worker._request_budget. Run as a program (parts b and c), this
module *is* `python -m unicorn`: it execs unicorn with the lab's options, serving app() below.
The lab's stop() is Arbiter.stop, which the tests reach only through the running server, so it
has no counterpart here.
"""

import os
import signal
import sys
import time
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qs

# This module's import name, also when it runs as __main__ (python -m ...lab08.master).
APP_MODULE = "unicorn.labs.reference.lab08.master"


def unicorn_heartbeat():
    """unicorn's heartbeat module. If a rename in unicorn breaks lab 8, fix this line."""
    from unicorn import heartbeat

    return heartbeat


def unicorn_arbiter():
    from unicorn import arbiter

    return arbiter


def unicorn_worker_base():
    from unicorn.workers import base

    return base


class Heartbeat:
    def __init__(self, directory: str | None = None) -> None:
        self._heart = unicorn_heartbeat().Heartbeat(directory)

    def beat(self) -> None:
        self._heart.beat()

    def last_beat(self) -> float:
        return self._heart.last_beat()

    def fileno(self) -> int:
        return self._heart.fileno()

    def close(self) -> None:
        self._heart.close()


@dataclass(eq=False)
class Worker:
    heartbeat: Heartbeat
    pid: int = 0
    aborted: bool = False


class _QuietLog:
    """The two methods murder_workers needs from unicorn's logger; the lab's tests read signals,
    not log lines."""

    def critical(self, message: str, *args) -> None:
        pass

    def explain(self, message: str, section: str) -> None:
        pass


def murder_workers(workers: list[Worker], timeout: float, kill=os.kill) -> None:
    def kill_worker(pid: int, signum: int) -> None:
        try:
            kill(pid, signum)
        except ProcessLookupError:
            pass

    # Just what Arbiter.murder_workers reads from `self`: the config, the workers, the logger.
    master = SimpleNamespace(cfg=SimpleNamespace(timeout=timeout), log=_QuietLog(),
                             workers={worker.pid: worker for worker in workers}, retiring={},
                             kill_worker=kill_worker)
    unicorn_arbiter().Arbiter.murder_workers(master)


def request_budget(max_requests: int, jitter: int) -> int:
    return unicorn_worker_base().Worker._request_budget(max_requests, jitter)


def app(environ, start_response):
    """The same application as the starter's (see there)."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    path = environ["PATH_INFO"]
    if path in ("/sleep", "/hang", "/hang-hard") and "flag" in query:
        open(query["flag"][0], "w").close()
    if path == "/hang-hard":
        signal.signal(signal.SIGABRT, signal.SIG_IGN)
    if path in ("/hang", "/hang-hard"):
        while True:
            time.sleep(3600)
    if path == "/sleep":
        time.sleep(float(query["seconds"][0]))
    body = f"{os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: list[str]) -> None:
    """master.py OPTIONS: become `python -m unicorn OPTIONS <this>:app`; the lab's options are
    unicorn's own (-b, -w, --timeout, --graceful-timeout, --max-requests, --max-requests-jitter).

    exec, not a call: the process the test started is then unicorn's master, as in production.
    """
    os.execv(sys.executable, [sys.executable, "-m", "unicorn", *argv, f"{APP_MODULE}:app"])


if __name__ == "__main__":
    main(sys.argv[1:])
