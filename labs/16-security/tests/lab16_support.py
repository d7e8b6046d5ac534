"""What lab 16's tests need besides unicorn: the corpus notation, and a deliberately lax server.

Not a test file and not yours to change. `decode` reads the notation of tests/requests/ (see its
README); `LaxServer` is everything unicorn refuses to be, so that a checker can be shown to
notice it.
"""

import ast
import re
import socket
import threading
from pathlib import Path

# \r \n \t \\ \xNN and \{N*text}: the escapes of tests/requests/README.md.
ESCAPE = re.compile(r"\\\{(\d+)\*((?:[^{}\\]|\\.)*)\}|\\x([0-9A-Fa-f]{2})|\\(.)")
SIMPLE = {"r": "\r", "n": "\n", "t": "\t", "\\": "\\"}


def decode(text: str) -> bytes:
    """The bytes a .http file stands for; real newlines in the file are layout only.

    Raises ValueError for a byte that should have been escaped, or an unknown escape.
    """
    return _decode(text.replace("\n", "")).encode("latin-1")


def _decode(text: str) -> str:
    out, position = [], 0
    for match in ESCAPE.finditer(text):
        out.append(_plain(text[position:match.start()]))
        count, repeated, hex_digits, simple = match.groups()
        if count is not None:
            out.append(_decode(repeated) * int(count))
        elif hex_digits is not None:
            out.append(chr(int(hex_digits, 16)))
        elif simple in SIMPLE:
            out.append(SIMPLE[simple])
        else:
            raise ValueError(f"unknown escape \\{simple}")
        position = match.end()
    out.append(_plain(text[position:]))
    return "".join(out)


def _plain(text: str) -> str:
    if "\\" in text or any(not " " <= char <= "~" for char in text):
        raise ValueError(f"a byte that must be written as an escape: {text!r}")
    return text


def read_expected(path: Path) -> dict:
    """An .expect file: comment lines, then a Python literal such as {'status': 400}."""
    return ast.literal_eval(path.read_text())


class LaxServer:
    """A keep-alive HTTP server that believes whatever it is told, in a thread of the test.

    It splits lines at LF alone, forgives a space before the colon, trusts Content-Length over
    Transfer-Encoding, and when it does refuse a request (a broken request line) it answers 400
    and goes on reading the same connection. Every one of those is a smuggling hole.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        buffer = b""
        with connection:
            try:
                while True:
                    while b"\n\r\n" not in buffer and b"\n\n" not in buffer:
                        data = connection.recv(65536)
                        if not data:
                            return
                        buffer += data
                    buffer, close = self._one_request(connection, buffer)
                    if close:
                        return
            except (OSError, ValueError):
                return

    def _one_request(self, connection: socket.socket, buffer: bytes) -> tuple[bytes, bool]:
        head, rest = re.split(rb"\n\r?\n", buffer, maxsplit=1)
        lines = [line.rstrip(b"\r").decode("latin-1") for line in head.split(b"\n")]
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()  # forgives "Transfer-Encoding :"
        parts = lines[0].split()
        if len(parts) != 3:
            connection.sendall(self._answer("400 Bad Request", "refused"))
            return rest, False  # and reads on, as if it knew where the next request begins
        length = fields.get("content-length", "")
        if length.strip().lstrip("+").isdigit():  # Content-Length wins over Transfer-Encoding
            size = int(length)
            while len(rest) < size:
                rest += self._recv(connection)
            rest = rest[size:]
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            rest = self._skip_chunks(connection, rest)
        connection.sendall(self._answer("200 OK", f"ok {parts[1]}"))
        return rest, fields.get("connection", "").lower() == "close"

    def _skip_chunks(self, connection: socket.socket, rest: bytes) -> bytes:
        while True:
            line, rest = self._line(connection, rest)
            size = int(line.split(b";")[0].strip(), 16) % 2**64  # kept in 64 bits, as in C
            if size == 0:
                return self._line(connection, rest)[1]  # the empty line after the last chunk
            while len(rest) < size:
                rest += self._recv(connection)
            rest = self._line(connection, rest[size:])[1]  # the CRLF after the data

    def _line(self, connection: socket.socket, rest: bytes) -> tuple[bytes, bytes]:
        while b"\n" not in rest:
            rest += self._recv(connection)
        line, rest = rest.split(b"\n", 1)
        return line.rstrip(b"\r"), rest

    @staticmethod
    def _recv(connection: socket.socket) -> bytes:
        data = connection.recv(65536)
        if not data:
            raise ConnectionResetError("the client left")
        return data

    @staticmethod
    def _answer(status: str, text: str) -> bytes:
        body = f"{text}\n".encode()
        return (f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
