"""Broken: the handler records the signal, but nothing wakes the master sleeping in select().

Python runs a handler between two bytecodes of the main thread. A signal that comes while the
master sleeps in select() interrupts it, the handler runs, and select() goes back to sleep for
the rest of its timeout (PEP 475 retries it): the recorded signal waits up to SELECT_TIMEOUT
(30 s) to be acted on. TTIN adds no worker, TERM does not stop, until the master wakes by itself.
"""

import select
import signal
import sys

from unicorn.labs.broken.lab07._master import SIGNALS, Master, main

REPLACES = "master"
CAUGHT_BY = ("test_07c_signal_wakes_the_sleeping_master",)


class NoWakeupMaster(Master):
    def init_signals(self) -> None:
        self.pending: list[int] = []
        for signum in SIGNALS:
            signal.signal(signum, self.handle_signal)

    def handle_signal(self, signum: int, frame) -> None:
        self.pending.append(signum)  # recorded, but nobody is woken

    def wait_for_signals(self, timeout: float) -> list[int]:
        if not self.pending:
            select.select([], [], [], timeout)  # the mistake: nothing here for a signal to wake
        signals, self.pending = self.pending, []
        return signals


if __name__ == "__main__":
    main(sys.argv[1:], NoWakeupMaster)
