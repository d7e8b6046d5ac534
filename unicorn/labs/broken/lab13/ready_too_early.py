"""Broken: READY=1 is sent as soon as the program starts, before it listens.

"The process is running, so it is ready" is the assumption Type=notify exists to replace.
systemd then starts the units that depend on this one while connections to it are still
refused (without socket activation) or still waiting for a server that may yet fail to start.
"""

import os
import sys

from unicorn.labs.reference.lab13.service import adopt, hello, listen_fds, notify, unit_template
from unicorn.labs.reference.lab13.service import main as exec_unicorn

REPLACES = "service"
CAUGHT_BY = ("test_13b_ready_only_once_listening",)
__all__ = ["adopt", "hello", "listen_fds", "main", "notify", "unit_template"]


def main(argv: list[str]) -> None:
    notify("READY=1", os.environ)  # the mistake: nothing listens yet
    exec_unicorn(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
