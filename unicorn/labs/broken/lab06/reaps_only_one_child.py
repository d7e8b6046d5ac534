"""Broken: one SIGCHLD, one waitpid(), so of two workers that die together one stays a zombie.

A standard signal is a bit, not a counter: while SIGCHLD is pending, a second child that exits
sets the same bit again, and the master is told once. Calling waitpid() once per SIGCHLD reaps
one child; the other stays a zombie (state Z) that nobody waits for, and since the master still
counts it among its workers, it is never replaced: the server runs with one worker fewer.
"""

import os
import sys

from unicorn.labs.broken.lab06._prefork import Master, main

REPLACES = "prefork"
CAUGHT_BY = ("test_06b_workers_killed_together_are_all_reaped",)


class OneAtATimeMaster(Master):
    def reap_workers(self) -> list[int]:
        pid, _ = os.waitpid(-1, os.WNOHANG)  # the mistake: once, not until it returns 0
        if pid == 0:
            return []
        self.workers.discard(pid)
        return [pid]


if __name__ == "__main__":
    main(sys.argv[1:], OneAtATimeMaster)
