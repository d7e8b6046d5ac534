"""Lab 11b and 11c's reference server: `python -m unicorn` with an access log file.

Run as a program, this module execs unicorn with one worker, on a port the kernel picks, with
the lab's --access-logfile, serving ok() below: the master and the worker handle USR1 with
Logger.reopen_files, as in production.
"""

import os
import sys

# This module's import name, also when it runs as __main__ (python -m ...lab11.server).
APP_MODULE = "unicorn.labs.reference.lab11.server"


def ok(environ, start_response):
    """The WSGI app unicorn serves: the same response as the starter's server."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]


def main(argv: list[str]) -> None:
    """server.py --access-logfile FILE: become `python -m unicorn -w 1 -b 127.0.0.1:0 ...`."""
    command = [sys.executable, "-m", "unicorn", "-w", "1", "-b", "127.0.0.1:0", *argv,
               f"{APP_MODULE}:ok"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main(sys.argv[1:])
