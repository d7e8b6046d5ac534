"""Lab 7's reference: unicorn's arbiter answers the signals, its sync workers serve.

Run as a program, this module *is* `python -m unicorn -w N -b ADDRESS`, serving app() below,
which answers like the lab's respond(), slow route included. The lab's Master is unicorn's
Arbiter (unicorn/arbiter.py): init_signals, wait_for_signals, handle_ttin, handle_ttou and stop
have the same names there, and the worker's handlers are in unicorn/workers/base.py.
"""

import argparse
import os
import re
import sys
import time

# This module's import name, also when it runs as __main__ (python -m ...lab07.master).
APP_MODULE = "unicorn.labs.reference.lab07.master"


def app(environ, start_response):
    """`worker PID`; for /slow?seconds=S, a line on stdout, then S seconds, then `slow PID`."""
    slow = environ["PATH_INFO"] == "/slow" and re.fullmatch(
        r"seconds=([0-9.]+)", environ.get("QUERY_STRING", ""))
    if slow:
        print(f"slow request started in worker {os.getpid()}", flush=True)
        time.sleep(float(slow.group(1)))
    body = f"{'slow' if slow else 'worker'} {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def main(argv: list[str]) -> None:
    """master.py -w N -b ADDRESS: become `python -m unicorn -w N -b ADDRESS <this>:app`.

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
