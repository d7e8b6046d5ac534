"""A small, correct threaded server for lab 9, which each broken variant spoils in one place.

The shape of unicorn's gthread worker, cut down: the main thread waits in a selector on the
listener, on every connection waiting for a request head, and on a wake-up pipe; a pool of
threads runs the app once a whole head is in, then gives the connection back. The helpers
(split_head, parse_head, respond) are the starter's given code, copied: the starter is the
student's to change. The app is the reference's, imported: the tests serve the same one to all.
"""

import argparse
import os
import queue
import selectors
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from unicorn.labs.reference.lab09.server import app

MAX_HEAD = 65536


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    headers: dict[str, str]  # names in lower case


def keeps_alive(request: Request) -> bool:
    """RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive"."""
    options = {token.strip().lower() for token in request.headers.get("connection", "").split(",")}
    if "close" in options:
        return False
    return request.version == "HTTP/1.1" or "keep-alive" in options


@dataclass(eq=False)
class Client:
    """One open connection and the bytes read from it that no request has used yet."""

    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    since: float = 0.0  # time.monotonic() when it began to wait in the main loop


class Server:
    """The main thread selects and reads heads; `threads` pool threads answer requests."""

    keeps_alive = staticmethod(keeps_alive)

    def __init__(self, listener: socket.socket, threads: int, keep_alive: float) -> None:
        self.listener = listener
        self.keep_alive = keep_alive
        self.pool = ThreadPoolExecutor(threads)
        self.selector = selectors.DefaultSelector()
        self.returned: queue.SimpleQueue = queue.SimpleQueue()  # (Client, keep) from threads
        self.waiting: set[Client] = set()  # connections in the selector
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve_forever(self) -> None:
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, self.accept)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self.take_back)
        while True:
            timeout = self.close_expired()
            for key, _ in self.selector.select(timeout):
                key.data()

    def accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        self.wait(Client(sock))

    def wait(self, client: Client) -> None:
        """Park a connection in the selector until a whole head has arrived."""
        client.since = time.monotonic()
        client.sock.setblocking(False)
        self.waiting.add(client)
        self.selector.register(client.sock, selectors.EVENT_READ, partial(self.read, client))

    def read(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close(client)
            return
        client.buffer += data
        if b"\r\n\r\n" in client.buffer:
            self.selector.unregister(client.sock)
            self.waiting.discard(client)
            self.pool.submit(self.serve, client)

    def serve(self, client: Client) -> None:
        """In a pool thread: answer every whole request in the buffer, then hand back."""
        keep = False
        try:
            client.sock.setblocking(True)
            while (head := split_head(client.buffer)) is not None:
                request = parse_head(head)
                keep = self.keeps_alive(request)
                client.sock.sendall(respond(request, keep))
                if not keep:
                    break
        except (OSError, ValueError):
            keep = False
        self.returned.put((client, keep))
        os.write(self.wake_w, b"!")

    def take_back(self) -> None:
        """In the main thread: kept connections wait for their next head, the rest close."""
        try:
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass
        while not self.returned.empty():
            client, keep = self.returned.get()
            if keep:
                self.wait(client)
            else:
                client.sock.close()

    def close_expired(self) -> float | None:
        """Close connections idle for keep_alive seconds; return the time to the next expiry."""
        now = time.monotonic()
        left = []
        for client in list(self.waiting):
            remaining = client.since + self.keep_alive - now
            if remaining <= 0:
                self.close(client)
            else:
                left.append(remaining)
        return min(left, default=None)

    def close(self, client: Client) -> None:
        self.selector.unregister(client.sock)
        self.waiting.discard(client)
        client.sock.close()


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


def main(argv: list[str], server_class: type[Server] = Server) -> None:
    options = argparse.ArgumentParser()
    options.add_argument("-b", "--bind", default="127.0.0.1:0")
    options.add_argument("--threads", type=int, default=2)
    options.add_argument("--keep-alive", type=int, default=2)
    parsed = options.parse_args(argv)
    host, _, port = parsed.bind.rpartition(":")
    listener = socket.create_server((host, int(port)), backlog=64)
    print(f"Listening at: http://{host}:{listener.getsockname()[1]} ({os.getpid()})", flush=True)
    try:
        server_class(listener, parsed.threads, parsed.keep_alive).serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
