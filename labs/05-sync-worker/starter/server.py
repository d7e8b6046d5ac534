"""Lab 5: a sync server: accept a connection, serve its one request, close it, repeat.

One process, one client at a time, no threads, no keep-alive: the loop of a sync worker in its
smallest form. Keep the interface (names, arguments, return values) and main(), which is already
written; write the bodies of the functions that raise NotImplementedError.
Read labs/05-sync-worker/README.md first. Run: python -m unicorn.labs check 5 --part a
Try it: python labs/05-sync-worker/starter/server.py -b 127.0.0.1:8000 mymodule:app
"""

import argparse
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

# How long a client may keep the server waiting for its next bytes, in seconds.
CLIENT_TIMEOUT = 10.0
# The most bytes a request head may have; a longer one is refused.
MAX_HEAD = 65536


class BadRequest(Exception):
    """The request is malformed: answer 400 and close the connection."""


@dataclass
class Request:
    method: str  # "GET"
    target: str  # "/search?q=unicorn", as sent
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[str, str]] = field(default_factory=list)  # (name, value), as sent
    body: bytes = b""


def load_app(target: str) -> Callable:
    """The WSGI application that "module:attribute" names (`myapp:app`)."""
    raise NotImplementedError("Lab 5a: import the module, return its attribute")


def read_request(connection: socket.socket) -> Request | None:
    """Read one request from the connection: None if the client closed before sending a byte.

    The head ends at its blank line (b"\\r\\n\\r\\n"), which may take several recv() calls.
    The body is exactly Content-Length bytes after it. Raise BadRequest for a request line
    that is not METHOD SP TARGET SP HTTP/1.x, a header line without a colon, or a
    Content-Length that is not a number.
    """
    raise NotImplementedError("Lab 5a: read the head; Lab 5c: the body, and BadRequest")


def build_environ(request: Request, client: tuple[str, int], server: tuple[str, int]) -> dict:
    """The environ of PEP 3333 for `request` (lab 4 wrote a fuller one)."""
    raise NotImplementedError("Lab 5a: REQUEST_METHOD, PATH_INFO, HTTP_*, wsgi.input ...")


def serve_one(connection: socket.socket, client: tuple[str, int], server: tuple[str, int],
              app: Callable) -> None:
    """Serve the one request of this connection: read it, call the app, send the response
    with a Content-Length and Connection: close. Never raises: a client that leaves, a
    malformed request (400) or an app that fails (500) is this connection's problem only."""
    raise NotImplementedError("Lab 5a: one request, one response; Lab 5b: nothing escapes")


def serve_forever(listener: socket.socket, app: Callable) -> None:
    """Accept a connection, serve it, close it, and go back for the next, forever."""
    raise NotImplementedError("Lab 5a: accept(), serve_one(), close(), repeat")


def main(argv: list[str]) -> None:
    """server.py [-b HOST:PORT] MODULE:APP: say "Listening at: http://HOST:PORT", then serve."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-b", "--bind", default="127.0.0.1:8000", metavar="HOST:PORT")
    options.add_argument("app", metavar="MODULE:APP")
    parsed = options.parse_args(argv)
    host, _, port = parsed.bind.rpartition(":")
    app = load_app(parsed.app)
    listener = socket.create_server((host, int(port)), backlog=64)
    bound_host, bound_port = listener.getsockname()[:2]  # port 0: the kernel picked one
    print(f"Listening at: http://{bound_host}:{bound_port}", flush=True)
    try:
        serve_forever(listener, app)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
