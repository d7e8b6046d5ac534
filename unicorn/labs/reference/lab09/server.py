"""Lab 9's reference: unicorn's gthread worker, an event loop in front of a pool of threads.

Run as a program, this module *is* `python -m unicorn -k gthread -w 1`: it execs unicorn with the
lab's options, serving app() below. The lab's keeps_alive is unicorn/http/framing.py and its
serve_forever is ThreadWorker.run in unicorn/workers/gthread.py; the tests reach both only
through the running server, so neither has a counterpart here.
"""

import os
import sys
import time
import uuid
from urllib.parse import parse_qs

# This module's import name, also when it runs as __main__ (python -m ...lab09.server).
APP_MODULE = "unicorn.labs.reference.lab09.server"


def app(environ, start_response):
    """The same application as the starter's (see there for what it answers)."""
    query = parse_qs(environ["QUERY_STRING"])
    if environ["PATH_INFO"] == "/together":
        body = together(query["dir"][0], int(query["n"][0]), float(query["wait"][0]))
    else:
        body = f"hello {environ['QUERY_STRING']}\n"
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]


def together(directory: str, count: int, wait: float) -> str:
    """A barrier made of files: "inside-*" for each request in here, "released" once `count`
    of them were inside at the same time."""
    mine = os.path.join(directory, f"inside-{uuid.uuid4().hex}")
    released = os.path.join(directory, "released")
    open(mine, "w").close()
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            inside = [name for name in os.listdir(directory) if name.startswith("inside-")]
            if len(inside) >= count:
                open(released, "w").close()
            if os.path.exists(released):
                return "together\n"
            time.sleep(0.01)
        return "alone\n"
    finally:
        os.unlink(mine)


def main(argv: list[str]) -> None:
    """server.py -b ADDRESS --threads N --keep-alive S: become `python -m unicorn -k gthread -w 1
    -b ADDRESS --threads N --keep-alive S <this>:app` (unicorn's options have the same names).

    exec, not a call: the process the test started is then unicorn itself.
    """
    command = [sys.executable, "-m", "unicorn", "-k", "gthread", "-w", "1", *argv,
               f"{APP_MODULE}:app"]
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main(sys.argv[1:])
