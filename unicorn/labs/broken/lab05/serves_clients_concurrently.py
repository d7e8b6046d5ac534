"""Broken for this lab: a server that serves several clients at once, with keep-alive.

It is unicorn's gthread worker (chapter 9, Threads and keep-alive), a fine server, but not a
sync one: a second client is served while the first is still running, a client that has sent
half a head holds nobody up, and a connection stays open for the next request. A student whose
server reaches for a thread per client passes the same way, so the tests must prove the order
in which requests ran (from the app's log), not only that every client got an answer.
"""

import os
import sys

REPLACES = "server"
CAUGHT_BY = (
    "test_05a_no_keep_alive_even_when_the_client_wants_it",
    "test_05b_second_client_waits_for_the_first",
    "test_05b_half_sent_head_holds_the_server",
)


def main(argv: list[str]) -> None:
    command = [sys.executable, "-m", "unicorn", "-k", "gthread", "--threads", "4", "-w", "1",
               *argv]
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
