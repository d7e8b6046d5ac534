"""What a process lab's tests see of a server from the outside: its children, their states, and
the signals still waiting to be delivered to it. Everything is read from /proc (Linux).

The tests of the pre-fork and signal labs (6, 7, and later ones) need nothing from the code
under test but the master's pid: the kernel already knows which processes it forked, which of
them are zombies, and whether a signal sent to it has been taken yet.
Nothing here sleeps to synchronise: `wait_until` polls a condition until a deadline.
"""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# How often wait_until looks again: often enough to be prompt, rarely enough to cost nothing.
POLL = 0.01


def state(pid: int) -> str | None:
    """The process's state letter (R running, S sleeping, Z zombie, T stopped, ...), or None
    once it is gone (reaped, or never existed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name in parentheses may itself contain spaces and ')': split after the last.
    return stat.rpartition(")")[2].split()[0]


def is_zombie(pid: int) -> bool:
    """Exited but not yet waited for by its parent."""
    return state(pid) == "Z"


def is_running(pid: int) -> bool:
    """Alive: it exists and has not exited (a zombie has exited)."""
    return state(pid) not in (None, "Z")


def children(pid: int) -> set[int]:
    """The pids of `pid`'s children, zombies included (they stay its children until reaped)."""
    found: set[int] = set()
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.update(int(child) for child in path.read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def live_children(pid: int) -> set[int]:
    """The children of `pid` that have not exited."""
    return {child for child in children(pid) if is_running(child)}


def pending_signals(pid: int) -> set[int]:
    """The signals sent to `pid` that the kernel has not delivered yet (blocked, or the
    process has not run since)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return set()
    bits = 0
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("SigPnd", "ShdPnd"):  # sent to the thread, sent to the whole process
            bits |= int(value.strip(), 16)
    return {number for number in range(1, 65) if bits & (1 << (number - 1))}


def wait_until(condition: Callable[[], T], timeout: float) -> T:
    """Call `condition` until it returns something true, or `timeout` seconds pass; return its
    last answer, so the caller can say what it saw."""
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer or time.monotonic() >= deadline:
            return answer
        time.sleep(POLL)


def signal_taken(pid: int, signum: int, timeout: float) -> bool:
    """Wait until the kernel has delivered `signum` to `pid` and `pid` sleeps again.

    Delivered means that the process's handler has run (for Python: the C-level handler, which
    also writes to the wake-up fd); sleeping again means it went back to waiting, having done
    whatever it does next. Sending the next signal only after this keeps two signals of the same
    kind from merging into one in the kernel, which any program would see as one.
    """
    def taken() -> bool:
        return signum not in pending_signals(pid) and state(pid) in ("S", None)

    return wait_until(taken, timeout)


def send(pid: int, signum: int) -> None:
    """Send `signum` to `pid`; a process that has already gone is not an error here."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
