"""Broken for this lab: the new master never renames PIDFILE.2 to PIDFILE.

Everything serves, and the upgrade looks done; but the old master removed (or left stale) the
pidfile, and `kill -HUP $(cat app.pid)` from a deploy script or logrotate now misses the master
in charge. Made by dropping the rename from unicorn's promote_if_old_master_gone (_mistakes.py).
"""

import sys

from unicorn.labs.broken.lab14 import run_with_mistake

REPLACES = "server"
CAUGHT_BY = ("test_14b_pidfile_2_becomes_pidfile_once_the_old_master_exits",)


def main(argv: list[str]) -> None:
    run_with_mistake("forgets_pidfile_rename", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
