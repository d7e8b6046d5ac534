"""Broken for this lab: TERM stops the old master quickly, killing the requests in flight.

The new master is up and the socket never closes, so new connections are fine; but the clients
whose requests the old workers were serving get their connection reset instead of an answer.
An upgrade is zero-downtime only if the old master's stop is graceful. Made by routing unicorn's
TERM to its QUIT handler (_mistakes.py).
"""

import sys

from unicorn.labs.broken.lab14 import run_with_mistake

REPLACES = "server"
CAUGHT_BY = ("test_14c_term_lets_the_request_in_flight_finish",)


def main(argv: list[str]) -> None:
    run_with_mistake("kills_workers_on_term", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
