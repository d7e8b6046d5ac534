"""The WSGI app that lab 5's tests serve, with your server or with unicorn.

Not a test file and not yours to change: the tests start `server.py -b 127.0.0.1:0
lab05_apps:app` with this directory on PYTHONPATH, and LAB05_DIR naming a directory of theirs.
The app writes one line to LAB05_DIR/log when it begins and ends a request, so the test can see
in which order the server ran them; /slow?NAME waits until the test creates LAB05_DIR/go-NAME.
"""

import hashlib
import os
import time
from pathlib import Path

# How long /slow waits for the test's go-NAME file before giving up.
PATIENCE = 10.0


def note(line: str) -> None:
    """Append a line to the log; one write() with O_APPEND, so lines never interleave."""
    with open(Path(os.environ["LAB05_DIR"]) / "log", "a") as log:
        log.write(line + "\n")


def wait_for_go(name: str) -> None:
    gate = Path(os.environ["LAB05_DIR"]) / f"go-{name}"
    deadline = time.monotonic() + PATIENCE
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def text(start_response, body: bytes, status: str = "200 OK"):
    """A text/plain answer without a Content-Length: the server must count it."""
    start_response(status, [("Content-Type", "text/plain")])
    return [body]


def app(environ, start_response):
    path, name = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/hello":
        return text(start_response, b"Hello, world!\n")
    if path == "/environ":
        keys = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL", "HTTP_HOST",
                "HTTP_X_LAB")
        lines = [f"{key}={environ.get(key, '')}" for key in keys]
        return text(start_response, "\n".join(lines).encode("latin-1"))
    if path in ("/slow", "/fast"):
        note(f"begin {name}")
        if path == "/slow":
            wait_for_go(name)
        note(f"end {name}")
        return text(start_response, name.encode())
    if path in ("/echo", "/echo-all"):
        stream = environ["wsgi.input"]
        if path == "/echo":
            body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
        else:
            body = stream.read()  # no size: wsgi.input must end where the body ends
        return text(start_response, f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode())
    if path == "/fails":
        raise RuntimeError("lab 5: this app fails on purpose")
    return text(start_response, b"not found\n", "404 Not Found")
