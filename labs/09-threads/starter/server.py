"""Lab 9: a threaded HTTP/1.1 server with keep-alive, in which an idle client costs no thread.

    python server.py -b 127.0.0.1:0 --threads 2 --keep-alive 5

You write two pieces, each marked NotImplementedError:
  a. keeps_alive: does this connection stay open after the response (RFC 9112 §9.3)?
  b, c. serve_forever: a main loop that accepts connections and collects request heads without
     blocking, and a pool of `threads` threads that run the app once a whole head has arrived.
Given, and needing no change: the app the tests call, parse_head, respond, and main().
Requests have no body here (the tests send only GET), so a request is its head.
"""

import argparse
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

# The most bytes a request head may take; a longer one is refused.
MAX_HEAD = 65536


# --- Part a: keep-alive ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    headers: dict[str, str]  # names in lower case


def keeps_alive(request: Request) -> bool:
    """Whether the connection stays open for another request after this one's response.
    HTTP/1.1: yes, unless a Connection field says "close". HTTP/1.0: only with
    "Connection: keep-alive". (RFC 9112 §9.3; the field's value is a comma-separated list.)"""
    raise NotImplementedError("Lab 9a: read the version and the Connection field")


# --- Parts b and c: the loop and the pool ----------------------------------------------------


def serve_forever(listener: socket.socket, threads: int, keep_alive: float) -> None:
    """Serve connections from `listener` for ever, with exactly `threads` threads running the app.

    Part a: several requests on one connection, in order, including requests that arrive
    together in one packet (pipelining): a request is answered with respond(), and the
    connection closed after it unless keeps_alive(); a connection idle for `keep_alive`
    seconds after a response is closed.
    Part b: up to `threads` requests run at once, each in a thread of a pool of that size.
    Part c: a connection that sends nothing, or part of a head, holds no thread: the main
    thread waits on the listener and every such connection at once (selectors), reads what
    arrives without blocking, and hands a connection to the pool only when split_head() finds
    a whole head; the thread gives it back to the main loop after the response.
    """
    raise NotImplementedError("Lab 9b: a thread pool; Lab 9c: a selector loop in front of it")


# --- Given: heads, responses, the app ----------------------------------------------------------


def split_head(buffer: bytearray) -> bytes | None:
    """Take one whole request head (up to and including its blank line) off the front of
    `buffer` and return it; None while the blank line has not arrived. Bytes after the head,
    a pipelined next request, stay in `buffer`."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise ValueError("request head too long")
        return None
    head = bytes(buffer[: end + 4])
    del buffer[: end + 4]
    return head


def parse_head(head: bytes) -> Request:
    """A whole head as split_head() returns it; ValueError if it is not a request."""
    line, *fields = head[:-4].decode("latin-1").split("\r\n")
    method, target, version = line.split(" ")
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise ValueError(f"unknown version {version!r}")
    headers = {}
    for field_line in fields:
        name, colon, value = field_line.partition(":")
        if not colon:
            raise ValueError(f"not a header field: {field_line!r}")
        headers[name.strip().lower()] = value.strip()
    return Request(method, target, version, headers)


def respond(request: Request, keep_alive: bool) -> bytes:
    """Run the app for `request`; return the whole response, which says whether the connection
    stays open (`Connection: keep-alive` or `close`). Runs in whichever thread calls it."""
    path, _, query = request.target.partition("?")
    environ = {"REQUEST_METHOD": request.method, "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_PROTOCOL": request.version, "SERVER_NAME": "lab", "SERVER_PORT": "0"}
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers

    body = b"".join(app(environ, start_response))
    lines = [f"HTTP/1.1 {answer['status']}", *(f"{name}: {value}" for name, value
                                              in answer["headers"]),
             f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def app(environ, start_response):
    """GET /?x says "hello x". GET /together?dir=D&n=K&wait=S waits, up to S seconds, until K
    requests are inside this route at once (each marks itself with a file in D), then says
    "together"; if they never are, it says "alone". Slow on purpose, with no sleep to time it."""
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
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-b", "--bind", default="127.0.0.1:0", help="HOST:PORT")
    options.add_argument("--threads", type=int, default=2)
    options.add_argument("--keep-alive", type=int, default=2, metavar="SECONDS")
    parsed = options.parse_args(argv)
    host, _, port = parsed.bind.rpartition(":")
    listener = socket.create_server((host, int(port)), backlog=64)
    print(f"Listening at: http://{host}:{listener.getsockname()[1]} ({os.getpid()})", flush=True)
    try:
        serve_forever(listener, parsed.threads, parsed.keep_alive)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
