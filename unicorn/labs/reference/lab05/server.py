"""Lab 5's reference: unicorn's sync worker, one of it, serving the lab's app.

Run as a program, this module *is* `python -m unicorn -k sync -w 1`: main() execs unicorn with
the lab's -b option and MODULE:APP, so the tests talk to unicorn's arbiter and SyncWorker
(unicorn/workers/sync.py, with Worker.handle_request in unicorn/workers/base.py). The lab's
functions have no counterparts here: unicorn splits the same work between its parser, the
gateway of chapter 4, and the worker, and the tests only look at what reaches the client.
"""

import os
import sys


def unicorn_command(argv: list[str]) -> list[str]:
    """The unicorn command line for the lab's `server.py [-b HOST:PORT] MODULE:APP`.
    If a renamed option breaks lab 5, fix this line."""
    return [sys.executable, "-m", "unicorn", "-k", "sync", "-w", "1", *argv]


def main(argv: list[str]) -> None:
    """exec, not a call: the process the test started is then unicorn's master, as in
    production, and the test's kill reaches its worker through the process group."""
    command = unicorn_command(argv)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
