"""Broken: every connection is closed after one response, as a sync worker does.

Correct HTTP, and simple: the response says `Connection: close`. But HTTP/1.1 clients expect
persistence by default (RFC 9112 §9.3), and each request now pays a new TCP handshake, and a
new TLS handshake behind a proxy that speaks TLS; pipelined requests after the first are lost.
The threads and the main loop are right; only keep-alive is missing.
"""

import sys

from unicorn.labs.broken.lab09 import _threaded

REPLACES = "server"
CAUGHT_BY = ("test_09a_two_requests_on_one_connection",
             "test_09a_pipelined_requests_are_answered_in_order",
             "test_09a_idle_connection_is_closed_after_keep_alive")


class NoKeepAlive(_threaded.Server):
    @staticmethod
    def keeps_alive(request: _threaded.Request) -> bool:
        return False  # the mistake


def main(argv: list[str]) -> None:
    _threaded.main(argv, NoKeepAlive)


if __name__ == "__main__":
    main(sys.argv[1:])
