"""Lab 6's tests: labs/06-prefork/starter/prefork.py run as a process, its tree read from /proc.

One part at a time:  python -m pytest labs/06-prefork/tests -k test_06b_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/06-prefork/tests
"""

import re
import signal
import socket
import subprocess
from dataclasses import dataclass

from unicorn.labs.processes import is_zombie, live_children, send, state, wait_until
from unicorn.labs.testing import DEADLINE, Book, Process, connect, parse_response

book = Book(__file__)

FORK, TREE, REAPING, STOPPING = ("The idea: fork before accept", "Three workers, one socket",
                                 "Reaping: no zombies", "Stopping the workers")
# How long a test waits for something that takes a well-written master a few milliseconds:
# reaping a dead worker, closing a connection. Long enough for a slow machine; short enough that
# a lab run stays quick when the answer is "never".
PROMPT = 3.0
LISTENING = r"Listening at: (?:http://([0-9.]+):(\d+)|unix:(\S+))"
HEAD = b"GET / HTTP/1.1\r\nHost: lab\r\n"
REQUEST = HEAD + b"Connection: close\r\n\r\n"


@dataclass
class Server:
    """A running prefork.py: the master's process, its pid and the address it listens on."""

    process: Process
    address: tuple[str, int] | str

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    def alive(self) -> bool:
        return self.process.popen.poll() is None

    def wait_for_workers(self, count: int, section: str = TREE) -> set[int]:
        """Wait until the master has exactly `count` live children; return their pids.
        A master that has exited fails at once, with what it said last."""
        wait_until(lambda: not self.alive() or len(live_children(self.pid)) == count, DEADLINE)
        assert self.alive(), book.says(f"the master exited ({self.process.popen.returncode}); "
                                       f"it said: {self.process.last_lines()}", section)
        workers = live_children(self.pid)
        assert len(workers) == count, book.says(
            f"expected {count} worker processes, children of the master (pid {self.pid}), "
            f"got {len(workers)} {sorted(workers)}", section)
        return workers


def start_server(impl, start, workers: int, bind: str = "127.0.0.1:0") -> Server:
    """Run prefork.py -w WORKERS -b BIND and wait for its "Listening at:" line."""
    process = start([*impl.command("prefork"), "-w", str(workers), "-b", bind],
                    impl.environment())
    found = process.wait_for_lines(LISTENING)
    assert found, book.says(f"no 'Listening at:' line; the server said: {process.last_lines()}",
                            FORK)
    host, port, path = found[0].groups()
    return Server(process, path or (host, int(port)))


def read_response(sock: socket.socket) -> bytes:
    """Read one response: its head, then as many body bytes as its Content-Length says.
    Not until the connection closes: that is test_06a_connection_is_closed_after_the_response."""
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _expected_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _expected_length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return len(head) + 4 + int(length.group(1)) if length else 0


def worker_pid(raw: bytes, section: str) -> int:
    """The pid a response's body names (`worker PID`)."""
    response = parse_response(raw)
    found = re.fullmatch(rb"worker (\d+)\n", response.body)
    assert response.status == 200 and found, book.expected(
        "200 with the body 'worker PID\\n'", raw, section)
    return int(found.group(1))


def ask(address, section: str) -> int:
    """Send one request; return the pid of the worker that answered."""
    try:
        with connect(address, PROMPT) as sock:
            sock.sendall(REQUEST)
            return worker_pid(read_response(sock), section)
    except OSError as error:
        raise AssertionError(book.says(f"no answer to {REQUEST!r}: {error!r}", section)) from None


# --- Part a: fork before accept --------------------------------------------------------------


def test_06a_master_forks_n_workers(impl, start):
    server = start_server(impl, start, workers=3)
    workers = server.wait_for_workers(3)
    assert server.pid not in workers, book.says("the master counts itself as a worker", TREE)


def test_06a_workers_share_the_listener(impl, start):
    """Three clients each send half a request: a worker is busy with each one, so each must be
    a different worker. Then each finishes its request, the last first, and reads who answered."""
    server = start_server(impl, start, workers=3)
    workers = server.wait_for_workers(3)
    clients = [connect(server.address, PROMPT) for _ in range(3)]
    try:
        for client in clients:
            client.sendall(HEAD)
        answered_by = []
        for number, client in reversed(list(enumerate(clients, 1))):
            client.sendall(b"Connection: close\r\n\r\n")
            try:
                raw = read_response(client)
            except TimeoutError:
                raise AssertionError(book.says(
                    f"client {number} had no answer in {PROMPT} s while the other clients held "
                    "their connections open: fewer than 3 processes accept", FORK)) from None
            answered_by.append(worker_pid(raw, FORK))
    finally:
        for client in clients:
            client.close()
    assert len(set(answered_by)) == 3, book.expected(
        "3 different worker pids for 3 clients served at once", answered_by, FORK)
    strangers = set(answered_by) - workers
    assert not strangers, book.says(
        f"pids {sorted(strangers)} answered but are not the master's workers {sorted(workers)}",
        TREE)


def test_06a_connection_is_closed_after_the_response(impl, start):
    server = start_server(impl, start, workers=2)
    server.wait_for_workers(2)
    with connect(server.address, PROMPT) as sock:
        sock.sendall(REQUEST)
        worker_pid(read_response(sock), FORK)
        try:
            rest = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(book.says(
                f"the response came, but the connection was still open {PROMPT} s later: a "
                "process that forked while holding it must close its own copy too", FORK)) from None
        except ConnectionResetError:
            rest = b""
    assert rest == b"", book.expected("end-of-file after the response", rest, FORK)


# --- Part b: reaping -------------------------------------------------------------------------


def test_06b_killed_worker_is_reaped_and_replaced(impl, start, short_tmp):
    server = start_server(impl, start, workers=2, bind=f"unix:{short_tmp / 'lab6.sock'}")
    workers = server.wait_for_workers(2)
    victim = min(workers)
    send(victim, signal.SIGKILL)
    gone = wait_until(lambda: state(victim) is None, PROMPT)
    assert gone, book.says(f"worker {victim} was still there (state {state(victim)}) {PROMPT} s "
                           "after SIGKILL: its parent never waited for it", REAPING)
    replaced = server.wait_for_workers(2, REAPING)
    assert victim not in replaced, book.expected("a new worker in place of the killed one",
                                                 sorted(replaced), REAPING)
    assert ask(server.address, REAPING) in replaced, book.says(
        "a process that is not a worker answered", REAPING)


def test_06b_workers_killed_together_are_all_reaped(impl, start, short_tmp):
    """The master is stopped (SIGSTOP) while two workers die, so both SIGCHLDs arrive while it
    cannot run, as they do when two children die close together; then it is let go (SIGCONT)."""
    server = start_server(impl, start, workers=3, bind=f"unix:{short_tmp / 'lab6.sock'}")
    workers = server.wait_for_workers(3)
    victims = sorted(workers)[:2]
    send(server.pid, signal.SIGSTOP)
    try:
        # kill() only asks: until the master really is stopped, it could still take the
        # first SIGCHLD on its own, and the two would not arrive together after all.
        wait_until(lambda: state(server.pid) == "T", DEADLINE)
        for victim in victims:
            send(victim, signal.SIGKILL)
        wait_until(lambda: all(is_zombie(victim) for victim in victims), DEADLINE)
    finally:
        send(server.pid, signal.SIGCONT)
    for victim in victims:
        gone = wait_until(lambda victim=victim: state(victim) is None, PROMPT)
        assert gone, book.says(
            f"worker {victim} is still a zombie {PROMPT} s after two workers died together: "
            "one SIGCHLD can stand for several children, so reap until waitpid finds none",
            REAPING)
    replaced = server.wait_for_workers(3, REAPING)
    assert not replaced & set(victims), book.expected(
        "3 workers, 2 of them new", sorted(replaced), REAPING)


# --- Part c: stopping ------------------------------------------------------------------------


def test_06c_term_stops_every_process(impl, start):
    server = start_server(impl, start, workers=3)
    workers = server.wait_for_workers(3)
    send(server.pid, signal.SIGTERM)
    try:
        status = server.process.popen.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        raise AssertionError(book.says(f"the master was still running {DEADLINE} s after TERM",
                                       STOPPING)) from None
    assert status == 0, book.expected("exit status 0 after TERM", status, STOPPING)
    left = sorted(pid for pid in workers if state(pid) not in (None, "Z"))
    assert not left, book.says(f"workers {left} were still running when the master exited: "
                               "wait for each worker before exiting", STOPPING)
    try:
        connect(server.address, PROMPT).close()
    except ConnectionRefusedError:
        return
    raise AssertionError(book.says("a connection was still accepted after the master exited: "
                                   "some process still holds the listening socket", STOPPING))


def test_06c_no_worker_is_left_behind_by_int(impl, start):
    """INT (Ctrl-C) stops the server as TERM does."""
    server = start_server(impl, start, workers=2)
    workers = server.wait_for_workers(2)
    send(server.pid, signal.SIGINT)
    try:
        server.process.popen.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        raise AssertionError(book.says(f"the master was still running {DEADLINE} s after INT",
                                       STOPPING)) from None
    left = sorted(pid for pid in workers if state(pid) not in (None, "Z"))
    assert not left, book.says(f"workers {left} were still running when the master exited "
                               "on INT", STOPPING)
