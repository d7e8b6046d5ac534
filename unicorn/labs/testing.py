"""What lab tests share: one-line failure messages, child processes, a tiny HTTP client.

A lab test talks to the student's code the way the world would: over a socket, through a
process, or through the lab's small interface. Everything here is stable on purpose, so the
tests of labs 1-16 can lean on it while unicorn itself is refactored underneath.
Rules kept here for every lab: children run in their own session and are killed with their
whole group; nothing waits by sleeping, only by polling something with a deadline.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies

from unicorn.labs.catalog import Lab, lab_of_path
from unicorn.labs.impl import Implementation

# How long a test waits for a child to say something, or for a reply, before calling it stuck.
DEADLINE = 10.0


def shorten(value: object, limit: int = 100) -> str:
    """repr() cut to one short line, for failure messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Book:
    """Failure messages that say what was expected, what happened and where to read about it.

        book = Book(__file__)
        assert got == want, book.expected(want, got, "The request line")
    """

    def __init__(self, test_file: str) -> None:
        self.lab: Lab = lab_of_path(Path(test_file))

    def expected(self, expected: object, got: object, section: str) -> str:
        """`expected` is a value, or a str that describes one; `got` is always a value."""
        wanted = expected if isinstance(expected, str) else shorten(expected)
        return self.says(f"expected {wanted}, got {shorten(got)}", section)

    def says(self, what: str, section: str) -> str:
        """One line: `what`, then the chapter and section to read."""
        return f"{what}; {self.lab.where(section)}"


# --- Child processes -------------------------------------------------------------------------


class Process:
    """A child started in its own session, its stdout and stderr collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        )
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def last_lines(self, count: int = 3) -> str:
        """The end of the output on one line, for a failure message."""
        with self._changed:
            return " | ".join(self.lines[-count:]) or "(no output)"

    def wait_for_lines(self, pattern: str, count: int = 1, timeout: float = DEADLINE) -> list:
        """Wait until `count` output lines match `pattern`; return their matches.

        Returns early with fewer matches when the process exits first, so a crashed child
        fails its test at once instead of after the whole deadline.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [match for match in map(regex.search, self.lines) if match]
                left = deadline - time.monotonic()
                if len(matches) >= count or left <= 0 or not self._reader.is_alive():
                    return matches[:count]
                self._changed.wait(min(left, 0.2))

    def kill(self) -> None:
        """Kill the child and everything it started (its whole process group)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(5)


class Served:
    """A WSGI app served by a real `python -m unicorn`, ready for requests."""

    def __init__(self, server: Process, address: tuple[str, int]) -> None:
        self.server = server
        self.address = address

    def request(self, raw: bytes) -> "Response":
        """Send one request and read the reply; a refused or reset connection fails the test
        with what unicorn said last (an app that failed to import, say)."""
        try:
            return exchange(self.address, raw)
        except OSError as error:
            raise AssertionError(f"no answer from unicorn ({error}); its last words: "
                                 f"{self.server.last_lines()}") from None


def serve_with_unicorn(start, impl: Implementation, module: str, name: str) -> Served:
    """Serve `module:name` of the implementation with a real `python -m unicorn`, one worker,
    on a port the kernel picks, once unicorn says it is listening.

    `start` is the labs' `start` fixture, which kills the server at teardown.
    """
    target, path = impl.wsgi_target(module, name)
    command = [sys.executable, "-m", "unicorn", "-b", "127.0.0.1:0", "-w", "1", target]
    server = start(command, impl.environment(path), path)
    found = server.wait_for_lines(r"Listening at: http://([0-9.]+):([0-9]+)")
    assert found, f"`python -m unicorn {target}` did not start; it said: {server.last_lines()}"
    return Served(server, (found[0].group(1), int(found[0].group(2))))


# --- A tiny HTTP client ----------------------------------------------------------------------


@dataclass
class Response:
    """A response as the client saw it; `raw` is every byte, for failure messages."""

    raw: bytes
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    closed: bool = True  # the server closed the connection after it (False: we gave up waiting)


def connect(address: tuple[str, int] | str, timeout: float = DEADLINE) -> socket.socket:
    """A client socket connected to a TCP (host, port) or a unix socket path."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, bool]:
    """Everything the server sends until it closes the connection, and whether it did close
    (False when the socket's timeout passed first)."""
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks), True
        except TimeoutError:
            return b"".join(chunks), False
        if not data:
            return b"".join(chunks), True
        chunks.append(data)


def exchange(address: tuple[str, int] | str, request: bytes, timeout: float = DEADLINE) -> Response:
    """Send one request, read the reply until the server closes, and parse it."""
    with connect(address, timeout) as sock:
        sock.sendall(request)
        return parse_response(*read_until_closed(sock))


def parse_response(raw: bytes, closed: bool = True) -> Response:
    """Split a response into status, headers and body; leave status None if it is not one."""
    head, blank, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    match = re.fullmatch(r"HTTP/1\.[01] (\d{3})( .*)?", status_line)
    if not blank or match is None:
        return Response(raw, closed=closed)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(raw, int(match.group(1)), headers, body, closed)


def get(path: str = "/", method: str = "GET", body: bytes = b"", extra: str = "") -> bytes:
    """The bytes of a simple HTTP/1.1 request that asks the server to close afterwards."""
    length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
    head = f"{method} {path} HTTP/1.1\r\nHost: lab\r\n{length}{extra}Connection: close\r\n\r\n"
    return head.encode("latin-1") + body


# --- Bytes in random pieces ------------------------------------------------------------------


@strategies.composite
def split_anywhere(draw, data: bytes) -> list[bytes]:
    """A hypothesis strategy: `data` cut into non-empty pieces at places hypothesis picks.

    A parser that only works when a line arrives in one recv() fails here, as it would on a
    real network where TCP keeps no message boundaries.
    """
    if len(data) < 2:
        return [data]
    cuts = draw(strategies.lists(strategies.integers(1, len(data) - 1), unique=True, max_size=20))
    edges = [0, *sorted(cuts), len(data)]
    return [data[start:end] for start, end in zip(edges, edges[1:], strict=False)]
