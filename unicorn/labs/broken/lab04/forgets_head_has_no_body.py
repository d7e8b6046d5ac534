"""Broken: the response to HEAD carries the body that a GET would have had.

A HEAD is answered like a GET "except that the server MUST NOT send content" (RFC 9110 §9.3.2),
and the client, which knows it sent HEAD, reads no body whatever the headers say. A server that
sends one anyway leaves those bytes on the connection, where the client takes them for the
start of the next response: the two ends now disagree about every response that follows.
"""

from unicorn.labs.reference.lab04.gateway import (
    Response,
    ResponseError,
    build_environ,
    frame_with,
    unicorn_gateway,
)

REPLACES = "gateway"
CAUGHT_BY = ("test_04c_head_has_no_body", "test_04c_any_body_reads_back")
__all__ = ["Response", "ResponseError", "build_environ", "frame_response"]

_, _, _, response = unicorn_gateway()


class SendsHeadBody(response.Response):
    """unicorn's Response, with the mistake in what has a body."""

    def start_response(self, status, headers, exc_info=None):
        write = super().start_response(status, headers, exc_info)
        self.has_body = self.body_allowed  # the mistake: forgets that HEAD has no body
        return write


def frame_response(version, method, status, headers, body_chunks) -> bytes:
    return frame_with(SendsHeadBody, version, method, status, headers, body_chunks)
