"""Broken: each signal handler does its job itself, so it does it whatever the master is doing.

TTIN forks a worker from inside the handler; CHLD reaps and replaces; TERM stops. It looks
prompt and simple, but a handler runs between any two lines of the master, and each one must
know every state the master can be in. This one remembered that CHLD must not replace workers
during a stop, and forgot that TTIN must not add one: a TTIN during a graceful stop forks a
fresh worker that nobody tells to stop, and the master waits for it until GRACEFUL_TIMEOUT,
then kills it. Recording the signal and letting the main loop decide avoids the whole class.
"""

import select
import signal
import sys
import time

from unicorn.labs.broken.lab07._master import (
    GRACEFUL_TIMEOUT,
    QUICK_TIMEOUT,
    SELECT_TIMEOUT,
    SIGNALS,
    Master,
    main,
)

REPLACES = "master"
CAUGHT_BY = ("test_07c_ttin_while_stopping_starts_no_worker",)


class Stop(Exception):
    def __init__(self, graceful: bool) -> None:
        super().__init__("stop")
        self.graceful = graceful


class EagerMaster(Master):
    stopping = False

    def run(self) -> int:
        self.init_signals()
        try:
            self.manage_workers()
            while True:
                select.select([], [], [], SELECT_TIMEOUT)  # the handlers do everything
        except Stop as stop:
            self.stopping = True
            self.stop(stop.graceful)
        return 0

    def init_signals(self) -> None:
        for signum in SIGNALS:
            signal.signal(signum, self.handle_signal)

    def handle_signal(self, signum: int, frame) -> None:
        if signum == signal.SIGTTIN:
            self.handle_ttin()
            self.manage_workers()  # the mistake: forks now, even in the middle of a stop
        elif signum == signal.SIGTTOU:
            self.handle_ttou()
            self.manage_workers()
        elif signum == signal.SIGCHLD:
            self.reap_workers()
            if not self.stopping:
                self.manage_workers()
        else:
            raise Stop(graceful=signum == signal.SIGTERM)

    def stop(self, graceful: bool) -> None:
        self.kill_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        deadline = time.monotonic() + (GRACEFUL_TIMEOUT if graceful else QUICK_TIMEOUT)
        while (self.workers or self.retiring) and time.monotonic() < deadline:
            select.select([], [], [], 0.1)  # the CHLD handler reaps them meanwhile
        self.kill_workers(signal.SIGKILL)
        while self.workers or self.retiring:
            select.select([], [], [], 0.1)


if __name__ == "__main__":
    main(sys.argv[1:], EagerMaster)
