"""Lab 6's reference: unicorn's arbiter is the master, its sync workers are the workers.

Run as a program, this module *is* `python -m unicorn -w N -b ADDRESS`, serving app() below, which
answers like the lab's respond(): `worker PID`. The lab's Master is unicorn's Arbiter
(unicorn/arbiter.py): spawn_worker and reap_workers have the same names there, worker_loop is
SyncWorker.run, and stop is Arbiter.stop; read them once your own pass the tests.
"""

import argparse
import os
import sys

# This module's import name, also when it runs as __main__ (python -m ...lab06.prefork).
APP_MODULE = "unicorn.labs.reference.lab06.prefork"


def app(environ, start_response):
    """The WSGI app unicorn serves: the pid of the worker that answers."""
    body = f"worker {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: list[str]) -> None:
    """prefork.py -w N -b ADDRESS: become `python -m unicorn -w N -b ADDRESS <this>:app`.

    exec, not a call: the process the test started is then unicorn's master, as in production.
    """
    options = argparse.ArgumentParser()
    options.add_argument("-w", "--workers", default="2")
    options.add_argument("-b", "--bind", default="127.0.0.1:8000")
    args = options.parse_args(argv)
    command = [sys.executable, "-m", "unicorn", "-w", args.workers, "-b", args.bind,
               f"{APP_MODULE}:app"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main(sys.argv[1:])
