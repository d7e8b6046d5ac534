"""Broken: a body of unknown length is chunked whatever the client's version.

Chunked is the best framing for an HTTP/1.1 client, so it is tempting to use it always. But
chunked coding is HTTP/1.1's (RFC 9112 §6.1: a server must not send Transfer-Encoding unless the
request says HTTP/1.1); an HTTP/1.0 client reads the chunk sizes and the final `0` as part of the
body. For HTTP/1.0 the only framing left without a length is the close of the connection.
"""

from unicorn.labs.reference.lab04.gateway import (
    Response,
    ResponseError,
    build_environ,
    frame_with,
    unicorn_gateway,
)

REPLACES = "gateway"
CAUGHT_BY = ("test_04c_http10_body_ends_at_close",)
__all__ = ["Response", "ResponseError", "build_environ", "frame_response"]


_, _, _, response = unicorn_gateway()


class ChunksAlways(response.Response):
    """unicorn's Response, with the mistake in its choice of framing."""

    def choose_framing(self) -> None:
        if self.content_length is None and self.has_body:
            self.chunked = True  # the mistake: HTTP/1.0 clients do not know chunked


def frame_response(version, method, status, headers, body_chunks) -> bytes:
    return frame_with(ChunksAlways, version, method, status, headers, body_chunks)
