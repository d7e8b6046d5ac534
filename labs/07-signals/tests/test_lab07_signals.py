"""Lab 7's tests: labs/07-signals/starter/master.py run as a process and sent real signals.

One part at a time:  python -m pytest labs/07-signals/tests -k test_07c_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/07-signals/tests
"""

import signal
import socket
import subprocess
from dataclasses import dataclass

from unicorn.labs.processes import (
    live_children,
    pending_signals,
    send,
    signal_taken,
    state,
    wait_until,
)
from unicorn.labs.testing import DEADLINE, Book, Process, connect, parse_response

book = Book(__file__)

# TTIN, TTOU, TERM and QUIT are explained together, in one section of chapter 7.
TTIN_TTOU = GRACEFUL = QUICK = "Every signal the master answers"
SELF_PIPE, SAFETY = "Waking the loop: the self-pipe", "What a handler may touch"
# How soon a master must act on a signal. The starter's select() sleeps 30 s when nothing
# happens, so a master that a signal does not wake is caught; a woken one needs milliseconds.
PROMPT = 1.5
# How long the slow request of the graceful tests takes: long enough to send the master TERM,
# and TTIN, and see them taken, while it is still in flight.
SLOW = 1.0
LISTENING = r"Listening at: (?:http://([0-9.]+):(\d+)|unix:(\S+))"
SLOW_STARTED = r"slow request started in worker (\d+)"


@dataclass
class Server:
    """A running master.py: the master's process, its pid and the address it listens on."""

    process: Process
    address: tuple[str, int] | str

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    def alive(self) -> bool:
        return self.process.popen.poll() is None

    def workers(self) -> set[int]:
        return live_children(self.pid)

    def wait_for_workers(self, count: int, section: str, after: str = "") -> set[int]:
        """Wait until the master has exactly `count` live children; return their pids.
        `after` says what was just done, for the message ("after TTIN")."""
        timeout = PROMPT if after else DEADLINE
        wait_until(lambda: not self.alive() or len(self.workers()) == count, timeout)
        when = f" {after}" if after else ""
        assert self.alive(), book.says(f"the master exited ({self.process.popen.returncode})"
                                       f"{when}; it said: {self.process.last_lines()}", section)
        workers = self.workers()
        assert len(workers) == count, book.says(
            f"expected {count} workers {timeout} s {after or 'after start'}, got {len(workers)} "
            f"{sorted(workers)}", section)
        return workers

    def signal(self, signum: int, section: str) -> None:
        """Send `signum` to the master and wait until the kernel has delivered it."""
        send(self.pid, signum)
        name = signal.Signals(signum).name
        taken = signal_taken(self.pid, signum, PROMPT)
        assert taken, book.says(f"{name} was still pending {PROMPT} s after it was sent (is it "
                                "blocked?), or the master never went back to sleep", section)

    def wait_for_exit(self, timeout: float, what: str, section: str) -> int:
        try:
            return self.process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(book.says(f"the master was still running {timeout} s {what}; "
                                           f"it said: {self.process.last_lines()}",
                                           section)) from None


def start_server(impl, start, workers: int) -> Server:
    """Run master.py -w WORKERS -b 127.0.0.1:0, wait for "Listening at:" and the workers."""
    process = start([*impl.command("master"), "-w", str(workers), "-b", "127.0.0.1:0"],
                    impl.environment())
    found = process.wait_for_lines(LISTENING)
    assert found, book.says(f"no 'Listening at:' line; the server said: {process.last_lines()}",
                            TTIN_TTOU)
    host, port, path = found[0].groups()
    server = Server(process, path or (host, int(port)))
    server.wait_for_workers(workers, TTIN_TTOU)
    return server


def start_slow_request(server: Server, seconds: float, section: str) -> tuple[socket.socket, int]:
    """Send GET /slow?seconds=S and wait until a worker says it has started on it."""
    client = connect(server.address, DEADLINE)
    client.sendall(b"GET /slow?seconds=%g HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
                   % seconds)
    found = server.process.wait_for_lines(SLOW_STARTED)
    if not found:
        client.close()
        raise AssertionError(book.says("no worker said 'slow request started in worker PID'; "
                                       f"the server said: {server.process.last_lines()}", section))
    return client, int(found[0].group(1))


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def assert_all_gone(pids: set[int], section: str) -> None:
    left = sorted(pid for pid in pids if state(pid) not in (None, "Z"))
    assert not left, book.says(f"workers {left} were still running after the master exited",
                               section)


# --- Part a: TTIN and TTOU -------------------------------------------------------------------


def test_07a_ttin_adds_a_worker(impl, start):
    server = start_server(impl, start, workers=1)
    first = server.workers()
    send(server.pid, signal.SIGTTIN)
    second = server.wait_for_workers(2, TTIN_TTOU, "after TTIN")
    assert first < second, book.expected(f"the first worker {sorted(first)} kept",
                                         sorted(second), TTIN_TTOU)
    send(server.pid, signal.SIGTTIN)
    server.wait_for_workers(3, TTIN_TTOU, "after a second TTIN")


def test_07a_ttou_removes_a_worker_but_never_the_last(impl, start):
    server = start_server(impl, start, workers=2)
    before = server.workers()
    send(server.pid, signal.SIGTTOU)
    after = server.wait_for_workers(1, TTIN_TTOU, "after TTOU")
    [stopped] = before - after
    gone = wait_until(lambda: state(stopped) is None, PROMPT)
    assert gone, book.says(f"the worker stopped by TTOU ({stopped}) was not reaped: state "
                           f"{state(stopped)}", TTIN_TTOU)
    server.signal(signal.SIGTTOU, TTIN_TTOU)
    last = server.workers()
    assert last == after, book.expected(f"one worker kept, {sorted(after)}, after TTOU with one "
                                        "worker left", sorted(last), TTIN_TTOU)


# --- Part b: graceful and quick stop ---------------------------------------------------------


def test_07b_term_lets_the_request_in_flight_finish(impl, start):
    server = start_server(impl, start, workers=2)
    workers = server.workers()
    client, busy = start_slow_request(server, SLOW, GRACEFUL)
    with client:
        send(server.pid, signal.SIGTERM)
        [idle] = workers - {busy}
        gone = wait_until(lambda: state(idle) is None, PROMPT)
        assert gone, book.says(f"the idle worker {idle} was still there {PROMPT} s after the "
                               "master got TERM: it must be told to stop, and wake to do so",
                               GRACEFUL)
        response = parse_response(read_until_closed(client))
    assert (response.status, response.body) == (200, f"slow {busy}\n".encode()), book.expected(
        f"200 and 'slow {busy}' for the request in flight during TERM", response.raw, GRACEFUL)
    status = server.wait_for_exit(PROMPT, "after its last request finished", GRACEFUL)
    assert status == 0, book.expected("exit status 0 after TERM", status, GRACEFUL)
    assert_all_gone(workers, GRACEFUL)


def test_07b_quick_stop_does_not_wait(impl, start):
    """QUIT stops at once: the request in flight, which would take 30 s, is cut."""
    server = start_server(impl, start, workers=1)
    workers = server.workers()
    client, _ = start_slow_request(server, 30, QUICK)
    with client:
        send(server.pid, signal.SIGQUIT)
        server.wait_for_exit(PROMPT, "after QUIT, with a request in flight", QUICK)
        assert_all_gone(workers, QUICK)
        client.settimeout(PROMPT)
        try:
            raw = read_until_closed(client)
        except TimeoutError:
            raise AssertionError(book.says("the connection of the request in flight was still "
                                           "open after every process exited", QUICK)) from None
    assert parse_response(raw).status != 200, book.says(
        "the 30 s request was answered 200: QUIT waited for it", QUICK)


# --- Part c: the self-pipe -------------------------------------------------------------------


def test_07c_signal_wakes_the_sleeping_master(impl, start):
    server = start_server(impl, start, workers=1)
    asleep = wait_until(lambda: state(server.pid) == "S", PROMPT)
    assert asleep, book.says(f"the master never slept (state {state(server.pid)})", SELF_PIPE)
    send(server.pid, signal.SIGTTIN)
    wait_until(lambda: len(server.workers()) == 2, PROMPT)
    count = len(server.workers())
    assert count == 2, book.says(
        f"the master still had {count} worker {PROMPT} s after TTIN: the handler must wake the "
        "main loop, or the signal waits for select()'s 30 s timeout", SELF_PIPE)


def test_07c_burst_of_signals_is_all_handled(impl, start):
    """Five TTIN, each sent as soon as the kernel has delivered the one before, so the kernel
    never merges two: a master that counts what it was sent ends with six workers."""
    server = start_server(impl, start, workers=1)
    for _ in range(5):
        send(server.pid, signal.SIGTTIN)
        delivered = wait_until(lambda: signal.SIGTTIN not in pending_signals(server.pid),
                               PROMPT)
        assert delivered, book.says(f"TTIN still pending after {PROMPT} s", SELF_PIPE)
    wait_until(lambda: len(server.workers()) == 6, PROMPT)
    count = len(server.workers())
    assert count == 6, book.says(
        f"5 TTIN in a row gave {count - 1} new workers, not 5: record every signal, not a flag; "
        "Python may run a handler once for several deliveries, so count them in the wake-up pipe",
        SELF_PIPE)


def test_07c_ttin_while_stopping_starts_no_worker(impl, start):
    """TERM, then TTIN while a request is still in flight: the stop goes on, no worker is added."""
    server = start_server(impl, start, workers=1)
    workers = server.workers()
    client, _ = start_slow_request(server, SLOW, SAFETY)
    with client:
        server.signal(signal.SIGTERM, SAFETY)
        server.signal(signal.SIGTTIN, SAFETY)
        new = server.workers() - workers
        assert not new, book.says(f"TTIN during a graceful stop forked worker(s) {sorted(new)}: a "
                                  "handler that does the work does it whatever the master is "
                                  "doing; record the signal and let the loop decide", SAFETY)
        response = parse_response(read_until_closed(client))
    assert response.status == 200, book.expected("200 for the request in flight during TERM",
                                                 response.raw, GRACEFUL)
    server.wait_for_exit(PROMPT, "after its last request finished", SAFETY)
    assert_all_gone(workers, SAFETY)

