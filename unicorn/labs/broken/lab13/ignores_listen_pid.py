"""Broken: listen_fds believes LISTEN_FDS without checking that LISTEN_PID is our pid.

Environment variables are inherited by every child. A program that a socket-activated server
starts (a worker, a script the app runs, another server) then sees LISTEN_FDS=1 too, and
treats whatever its fd 3 happens to be as a listening socket handed to it by systemd.
"""

import sys
from collections.abc import MutableMapping

from unicorn.labs.reference.lab13.service import adopt, hello, main, notify, unit_template

REPLACES = "service"
CAUGHT_BY = ("test_13a_fds_for_another_process_are_refused",)
__all__ = ["adopt", "hello", "listen_fds", "main", "notify", "unit_template"]


def listen_fds(environ: MutableMapping[str, str]) -> list[int]:
    count = environ.pop("LISTEN_FDS", "0").strip()  # the mistake: whose fds are these?
    environ.pop("LISTEN_PID", None)
    return list(range(3, 3 + int(count)))


if __name__ == "__main__":
    main(sys.argv[1:])
