"""Lab 4: the server side of WSGI for one request, with no sockets in it.

On the way in, a parsed request becomes the environ dictionary of PEP 3333 (part a).
On the way out, the application's status, headers and body become bytes: start_response's
rules and the response head (part b), and the framing that tells the client where the body
ends (part c). Keep the interface (names, arguments, return values); write the bodies.
Read labs/04-gateway/README.md first. Run: python -m unicorn.labs check 4 --part a
"""

from collections.abc import Callable, Iterable


class ResponseError(Exception):
    """The application broke PEP 3333: a bad status or header, or start_response called twice.

    A server answers such an application with a 500, if no byte of the response has gone yet.
    """


def build_environ(
    method: str,
    target: str,
    version: str,
    headers: list[tuple[str, str]],
    body_bytes: bytes,
    client: tuple[str, int],
    server: tuple[str, int],
) -> dict:
    """The environ of PEP 3333 for one request that a parser has already checked.

    `target` is the request target as sent ("/caf%C3%A9?lang=fr"), `version` "HTTP/1.0" or
    "HTTP/1.1", `headers` the (name, value) pairs in the order and case the client sent them,
    with a Content-Length whenever there is a body; `body_bytes` is the whole body.
    `client` and `server` are the addresses of the two ends of the connection.
    """
    raise NotImplementedError("Lab 4a: REQUEST_METHOD, PATH_INFO, HTTP_* ... and the wsgi.* keys")


class Response:
    """One response, streamed: the head goes out with the first non-empty body bytes.

    `method` and `version` are the request's ("GET", "HTTP/1.1"); `send(data)` delivers bytes
    to the client. A server calls start_response through the application, then write() for
    each piece of the body, then finish() once.
    """

    def __init__(self, method: str, version: str, send: Callable[[bytes], None]) -> None:
        self.method = method
        self.version = version
        self.send = send
        self.headers_sent = False  # True once the status line has been sent

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info=None) -> Callable[[bytes], None]:
        """PEP 3333's start_response: check and record the status and headers; return write.

        Raise ResponseError for a status that is not "NNN Reason", for a header whose name is
        not a token or whose value holds CR or LF, and for a second call without exc_info.
        With exc_info: replace the status if the head has not gone yet, re-raise otherwise.
        Hop-by-hop headers (Connection, Transfer-Encoding, ...) belong to the server: never
        send the application's.
        """
        raise NotImplementedError("Lab 4b: the rules of start_response, with and without exc_info")

    def write(self, data: bytes) -> None:
        """Send body bytes, with the head before the first non-empty ones."""
        raise NotImplementedError("Lab 4b: send the head once, then the body")

    def finish(self) -> None:
        """The body is complete: send the head if it has not gone yet, and end the message."""
        raise NotImplementedError("Lab 4b: a head even for an empty body")


def frame_response(version: str, method: str, status: str, headers: list[tuple[str, str]],
                   body_chunks: Iterable[bytes]) -> bytes:
    """Every byte of the response to a `method` request from an HTTP `version` client.

    `status`, `headers` and `body_chunks` are what the application passed to start_response
    and returned. Choose where the body ends: the application's Content-Length, or the length
    of a body that is a list or tuple of one bytes object; otherwise chunked for HTTP/1.1, and
    the close of the connection for HTTP/1.0. HEAD, 204 and 304 responses have no body at all.
    """
    raise NotImplementedError("Lab 4c: choose the framing, then frame the body")
