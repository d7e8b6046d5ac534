"""WSGI apps that the integration tests serve with a real `python -m unicorn`."""

import json
import os
import time


def echo(environ, start_response):
    """Answer with what the server told the app, as JSON, plus the body it read."""
    body = environ["wsgi.input"].read()
    info = {
        key: value for key, value in environ.items() if isinstance(value, (str, bool, int))
    }
    info["body"] = body.decode("latin-1")
    info["pid"] = os.getpid()
    data = json.dumps(info, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Echo", "yes")])
    return [data]


app = echo


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!\n"]


def pid(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


def slow(environ, start_response):
    """Sleeps for ?seconds (default 1), then answers with the pid that served it."""
    query = environ.get("QUERY_STRING", "")
    seconds = float(query.partition("=")[2] or 1)
    time.sleep(seconds)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"slept {seconds} in {os.getpid()}".encode()]


def crash(environ, start_response):
    raise RuntimeError("the app crashed on purpose")


def bad_header(environ, start_response):
    start_response("200 OK", [("X-Evil", "a\r\nSet-Cookie: stolen=1")])
    return [b"never sent"]


def streaming(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return (f"part {n}\n".encode() for n in range(3))


class ClosingIterable:
    """Records that close() was called, in a file named by the environment."""

    def __init__(self, path):
        self.path = path

    def __iter__(self):
        yield b"closing"

    def close(self):
        with open(self.path, "a") as marker:
            marker.write("closed\n")


def closing(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ClosingIterable(os.environ["CLOSE_MARKER"])


def file(environ, start_response):
    """Serves this very file through wsgi.file_wrapper (sendfile)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](open(__file__, "rb"))


IMPORTED_BY = os.getpid()  # the process that imported this module: with --preload, the master


def importer(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{IMPORTED_BY} {os.getpid()} {os.getuid()}".encode()]


def refuses_bad_body(environ, start_response):
    """Reads the body; on a malformed one, answers 400 itself."""
    try:
        environ["wsgi.input"].read()
    except Exception:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"the app refused the body"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fine"]


def buffering_middleware(environ, start_response):
    """Replaces wsgi.input with a BytesIO, as many middlewares do."""
    import io

    environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read())
    return echo(environ, start_response)


def non_latin1_status(environ, start_response):
    start_response("200 \u2713 fine", [])
    return [b"never sent"]


def empty_then_crash(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b""
    raise RuntimeError("failed after an empty first chunk")
