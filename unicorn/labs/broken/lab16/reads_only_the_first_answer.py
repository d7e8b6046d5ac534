"""Broken for this lab: the checker reads one response and stops.

It sees the 400 and calls the server safe, without looking at what came after it on the same
connection: a server that refuses a request and then reads on (the lax server) passes, and so
every smuggling hole that starts with a refusal goes unnoticed. It also never sees the second
answer of two pipelined requests, which is how the tests notice it.
"""

import socket

# The rest of the module is the reference's.
from unicorn.labs.reference.lab16.security import (  # noqa: F401
    CORPUS,
    HIDDEN,
    QUIET,
    slow_client,
    slowloris,
)

REPLACES = "security"
CAUGHT_BY = (
    "test_16b_the_lax_server_is_caught",
    "test_16b_a_valid_request_and_the_one_behind_it_are_both_answered",
)


def hidden_request_answered(address: tuple[str, int], raw: bytes) -> bool:
    with socket.create_connection(address, timeout=QUIET) as sock:
        sock.sendall(raw + HIDDEN)
        first = b""
        while b"\r\n\r\n" not in first:  # up to the end of the first answer's head, no further
            data = sock.recv(1)
            if not data:
                break
            first += data
    return first.count(b"HTTP/1.1 ") > 1  # never true: it stopped reading after one answer
