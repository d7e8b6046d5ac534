"""The WSGI app that lab 14's tests serve, with your server or with unicorn. Not yours to change.

Every answer says which process served it: `worker PID master PPID`, so a test can tell the old
master's workers from the new master's. /slow?NAME appends `begin NAME` to LAB14_DIR/log and
then waits until the test creates LAB14_DIR/go-NAME: a request the test knows is in flight.
"""

import os
import time
from pathlib import Path

# How long /slow waits for the test's go-NAME file before giving up.
PATIENCE = 10.0
# How long /work works: long enough that a stop often finds a request in flight.
WORK = 0.02


def app(environ, start_response):
    path, name = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/slow":
        directory = Path(os.environ["LAB14_DIR"])
        with open(directory / "log", "a") as log:
            log.write(f"begin {name}\n")
        deadline = time.monotonic() + PATIENCE
        while not (directory / f"go-{name}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    elif path == "/work":
        time.sleep(WORK)
    body = f"worker {os.getpid()} master {os.getppid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
