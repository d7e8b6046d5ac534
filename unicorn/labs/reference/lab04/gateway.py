"""Lab 4's reference: unicorn's gateway, unicorn/http/environ.py and unicorn/http/response.py.

build_environ writes the request out as bytes and lets unicorn's parser read it back, as the
chapter's doctest does, so the environ is the one a worker would build. Response and
frame_response wrap unicorn's Response with a `send` that collects bytes instead of a socket.
unicorn's complaints about an application (InvalidResponse, and the AssertionError of a second
start_response) become the lab's ResponseError.
"""

from collections.abc import Callable, Iterable
from contextlib import contextmanager


class ResponseError(Exception):
    """The application broke PEP 3333: a bad status or header, or start_response called twice."""


def unicorn_gateway():
    """unicorn's parser, body, environ and response modules.
    If a rename in unicorn breaks lab 4, fix this line."""
    from unicorn.http import body, environ, parser, response

    return parser, body, environ, response


def parse_request(method: str, target: str, version: str, headers: list[tuple[str, str]],
                  body_bytes: bytes = b""):
    """unicorn's parser and its Request for the request these arguments describe."""
    parser_module, _, _, _ = unicorn_gateway()
    lines = [f"{method} {target} {version}\r\n", *(f"{name}: {value}\r\n"
                                                   for name, value in headers), "\r\n"]
    parser = parser_module.RequestParser()
    parser.feed("".join(lines).encode("latin-1") + body_bytes)
    request = parser.next_event()
    if not isinstance(request, parser_module.Request):
        raise ValueError(f"unicorn's parser refused the request ({parser.error})")
    return parser, request


def build_environ(method: str, target: str, version: str, headers: list[tuple[str, str]],
                  body_bytes: bytes, client: tuple[str, int], server: tuple[str, int]) -> dict:
    _, body, environ, _ = unicorn_gateway()
    parser, request = parse_request(method, target, version, headers, body_bytes)
    wsgi_input = body.Body(parser, receive=lambda: b"")  # every byte is in the parser already
    return environ.build_environ(request, wsgi_input, server=server, client=client)


@contextmanager
def as_response_error(apps_own_exception: bool = False):
    """unicorn's complaints about the application, as the lab's ResponseError.

    `apps_own_exception`: what may come out is the exception the application passed in
    exc_info, re-raised; it must reach the application as it was, even an AssertionError.
    """
    _, _, _, response = unicorn_gateway()
    try:
        yield
    except response.InvalidResponse as error:
        raise ResponseError(str(error)) from error
    except AssertionError as error:  # start_response() twice, or write() before it
        if apps_own_exception:
            raise
        raise ResponseError(str(error)) from error


def head_request(method: str, version: str):
    """A Request with only what a response looks at: its method, version and keep-alive."""
    headers = [("Host", "lab")] if version == "HTTP/1.1" else []
    return parse_request(method, "/", version, headers)[1]


class Response:
    def __init__(self, method: str, version: str, send: Callable[[bytes], None]) -> None:
        _, _, _, response = unicorn_gateway()
        self._response = response.Response(head_request(method, version), send)

    @property
    def headers_sent(self) -> bool:
        return self._response.headers_sent

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info=None) -> Callable[[bytes], None]:
        with as_response_error(apps_own_exception=exc_info is not None):
            self._response.start_response(status, headers, exc_info)
        return self.write

    def write(self, data: bytes) -> None:
        with as_response_error():
            self._response.write(data)

    def finish(self) -> None:
        with as_response_error():
            self._response.finish()


def frame_response(version: str, method: str, status: str, headers: list[tuple[str, str]],
                   body_chunks: Iterable[bytes]) -> bytes:
    _, _, _, response = unicorn_gateway()
    return frame_with(response.Response, version, method, status, headers, body_chunks)


def frame_with(response_class, version: str, method: str, status: str,
               headers: list[tuple[str, str]], body_chunks: Iterable[bytes]) -> bytes:
    """Run one response of `response_class` (unicorn's, or a broken variant's) to bytes."""
    sent: list[bytes] = []
    response = response_class(head_request(method, version), sent.append)
    with as_response_error():
        response.start_response(status, headers)
        response.send_iterable(body_chunks)
    return b"".join(sent)
