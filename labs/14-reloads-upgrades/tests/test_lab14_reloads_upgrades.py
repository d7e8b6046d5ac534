"""Lab 14's tests: a pre-fork server upgraded in place with USR2, with clients running.

Every test starts `server.py -b 127.0.0.1:0 -w 1 [--pid PIDFILE] lab14_app:app` (unicorn: `python
-m unicorn -w 1 ...`), waits for "Listening at:", and kills the whole process group at the end:
both masters and their workers. Each answer says `worker PID master PPID`, which is how a test
tells the new master from the old one; nothing is timed, every wait polls with a deadline.

One part at a time:  python -m pytest labs/14-reloads-upgrades/tests -k test_14a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/14-reloads-upgrades/tests
"""

import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from unicorn.labs.testing import DEADLINE, Book, exchange, get

book = Book(__file__)

# Sections of book/14-reloads-upgrades.md that the failure messages point to.
USR2 = "USR2: a new master on the same sockets"
HAND_OVER = "Who owns the pidfile"
ZERO_DOWNTIME = "Why the listening socket survives exec"

TESTS_DIR = Path(__file__).parent
# How long a new master may take to rename PIDFILE.2 after the old one exits: it looks about
# once a second (unicorn's TICK), so this is generous, and short enough to fail quickly.
PROMOTION = 5.0


@dataclass
class Server:
    """The first master (the process the test started), its address and its files."""

    process: object
    address: tuple[str, int]
    directory: Path
    pidfile: Path

    @property
    def pid(self) -> int:
        return self.process.popen.pid

    def ask(self, target: str = "/", section: str = USR2) -> tuple[int, int]:
        """GET `target`; return (worker pid, master pid) from the answer."""
        try:
            response = exchange(self.address, get(target))
        except OSError as error:
            raise AssertionError(book.says(f"GET {target} failed ({error}); the server said: "
                                           f"{self.process.last_lines()}", section)) from None
        found = re.fullmatch(rb"worker (\d+) master (\d+)\n", response.body)
        assert response.status == 200 and found, book.expected(
            "200 and 'worker PID master PPID'", response.raw, section)
        return int(found[1]), int(found[2])

    def upgrade(self, section: str = USR2, worker_busy: bool = False) -> int:
        """Send USR2; ask until a master other than the first answers; return its pid.

        Fails at once, not after the deadline, when the child that USR2 forked dies: a new
        master that cannot adopt the socket gives up within a second.
        """
        if not worker_busy:
            self.ask("/", section)  # a worker has answered, so it is among the children before
        before = children_of(self.pid)
        os.kill(self.pid, signal.SIGUSR2)
        forked: set[int] = set()
        if not wait_for(lambda: forked.update(children_of(self.pid) - before) or forked
                        or self.process.popen.poll() is not None):
            raise AssertionError(book.says(f"USR2 forked no new process in {DEADLINE:.0f} s; "
                                           f"the server said: {self.process.last_lines()}",
                                           section))
        # The new master is up once it has forked a worker of its own (or it died trying).
        wait_for(lambda: not any(alive(pid) for pid in forked)
                 or any(children_of(pid) for pid in forked))
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if not any(alive(pid) for pid in forked):
                raise AssertionError(book.says(
                    f"the process USR2 forked ({sorted(forked)}) exited without serving; the "
                    f"server said: {self.process.last_lines()}", section))
            _, master = self.ask("/", section)
            if master != self.pid:
                return master
        raise AssertionError(book.says(f"after USR2, no answer came from a new master in "
                                       f"{DEADLINE:.0f} s; the server said: "
                                       f"{self.process.last_lines()}", section))

    def wait_for_exit(self, section: str) -> None:
        try:
            self.process.popen.wait(DEADLINE)
        except Exception:
            raise AssertionError(book.says(f"the old master did not exit within {DEADLINE:.0f} s "
                                           "of TERM", section)) from None


def start_server(impl, start, directory: Path) -> Server:
    pidfile = directory / "lab.pid"
    command = [*impl.command("server"), "-b", "127.0.0.1:0", "-w", "1", "--pid", str(pidfile),
               "lab14_app:app"]
    environment = dict(impl.environment(TESTS_DIR), LAB14_DIR=str(directory))
    process = start(command, environment, directory)
    found = process.wait_for_lines(r"Listening at: http://([0-9.]+):([0-9]+)")
    assert found, book.says("the server never said 'Listening at: http://HOST:PORT'; it said: "
                            f"{process.last_lines()}", USR2)
    return Server(process, (found[0].group(1), int(found[0].group(2))), directory, pidfile)


@pytest.fixture
def server(impl, start, short_tmp) -> Server:
    return start_server(impl, start, short_tmp)


def wait_for(condition, seconds: float = DEADLINE) -> bool:
    """Poll `condition` until it is true or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


@dataclass
class Client:
    """A client thread that sends GET /work, one after another, until told to stop.

    Bounded: it gives up after DEADLINE * 3 seconds or 2,000 requests, whichever comes first.
    Every request is recorded: the (worker, master) that answered, or the error.
    """

    server: Server
    answers: list[tuple[int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + DEADLINE * 3
        while not self.done.is_set() and time.monotonic() < deadline and len(self.answers) < 2000:
            try:
                response = exchange(self.server.address, get("/work"))
            except OSError as error:
                self.errors.append(f"{type(error).__name__}: {error}")
                continue
            found = re.fullmatch(rb"worker (\d+) master (\d+)\n", response.body)
            if response.status != 200 or not found:
                self.errors.append(repr(response.raw[:80]))
                continue
            self.answers.append((int(found[1]), int(found[2])))

    def served_by(self, master: int) -> int:
        return sum(1 for _, pid in self.answers if pid == master)


# --- Part a: USR2 starts a new master on the same socket --------------------------------------


def test_14a_usr2_starts_a_new_master_that_serves_on_the_same_port(server):
    _, first = server.ask()
    assert first == server.pid, book.expected(f"answers from master {server.pid}", first, USR2)
    new = server.upgrade()
    assert server.process.popen.poll() is None, book.says(
        "the old master exited after USR2; it must go on serving until it is told to stop", USR2)
    assert new in children_of(server.pid), book.expected(
        f"the new master {new} to be a child of the old master {server.pid} (fork, then exec)",
        children_of(server.pid), USR2)


def test_14a_the_port_never_refuses_a_connection_during_usr2(server):
    client = Client(server)
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        new = server.upgrade()
        wait_for(lambda: client.served_by(new) > 0 or client.errors)
    finally:
        client.done.set()
        thread.join(DEADLINE)
    assert not client.errors, book.says(f"a client failed while the new master started: "
                                        f"{client.errors[0]}", USR2)
    assert client.answers, book.says("the running client got no answer at all", USR2)


def test_14a_the_new_master_binds_nothing_of_its_own(server):
    new = server.upgrade()
    ours = listening_sockets(server.pid)
    theirs = listening_sockets(new)
    assert ours and theirs == ours, book.expected(
        f"the new master to hold the old master's listening socket (inode {sorted(ours)})",
        sorted(theirs), USR2)


def children_of(pid: int) -> set[int]:
    """The pids whose parent is `pid`, from /proc."""
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.add(int(entry.name))
    return children


def alive(pid: int) -> bool:
    """True while `pid` runs: not gone, and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening_sockets(pid: int) -> set[str]:
    """The socket inodes `pid` holds that are TCP listeners (state 0A in /proc/net/tcp)."""
    listeners = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        listeners |= {line.split()[9] for line in lines if line.split()[3] == "0A"}
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in listeners:
            held.add(target[8:-1])
    return held


# --- Part b: the pidfile hand-over ------------------------------------------------------------


def test_14b_the_new_master_writes_pidfile_2(server):
    assert wait_for(lambda: read_pid(server.pidfile) == server.pid), book.expected(
        f"{server.pidfile.name} to hold {server.pid}", read_pid(server.pidfile), HAND_OVER)
    new = server.upgrade(HAND_OVER)
    second = server.pidfile.with_name("lab.pid.2")
    assert wait_for(lambda: read_pid(second) == new), book.expected(
        f"lab.pid.2 to hold the new master's pid {new}", read_pid(second), HAND_OVER)
    assert read_pid(server.pidfile) == server.pid, book.expected(
        f"lab.pid to keep the old master's pid {server.pid} while it lives",
        read_pid(server.pidfile), HAND_OVER)


def test_14b_pidfile_2_becomes_pidfile_once_the_old_master_exits(server):
    new = server.upgrade(HAND_OVER)
    second = server.pidfile.with_name("lab.pid.2")
    assert wait_for(lambda: read_pid(second) == new), book.expected(
        f"lab.pid.2 to hold {new}", read_pid(second), HAND_OVER)
    os.kill(server.pid, signal.SIGTERM)
    server.wait_for_exit(HAND_OVER)
    renamed = wait_for(lambda: read_pid(server.pidfile) == new and not second.exists(),
                       PROMOTION)
    files = sorted(path.name for path in server.directory.iterdir() if ".pid" in path.name)
    assert renamed, book.expected(
        f"within {PROMOTION:.0f} s of the old master's exit, lab.pid holding {new} and no "
        "lab.pid.2", f"{files}, lab.pid holding {read_pid(server.pidfile)}", HAND_OVER)
    assert server.ask("/", HAND_OVER)[1] == new


# --- Part c: zero downtime --------------------------------------------------------------------


def test_14c_a_running_client_never_notices_the_upgrade(server):
    client = Client(server)
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    assert wait_for(lambda: client.answers or client.errors), book.says(
        "the client got no answer before the upgrade", ZERO_DOWNTIME)
    new = server.upgrade(ZERO_DOWNTIME)
    os.kill(server.pid, signal.SIGTERM)
    server.wait_for_exit(ZERO_DOWNTIME)
    after = len(client.answers)
    wait_for(lambda: len(client.answers) >= after + 5 or client.errors)
    client.done.set()
    thread.join(DEADLINE)
    assert not client.errors, book.says(
        f"{len(client.errors)} of {len(client.errors) + len(client.answers)} requests failed "
        f"during USR2 and TERM, the first: {client.errors[0]}", ZERO_DOWNTIME)
    assert client.served_by(new) > 0, book.expected(
        f"some of the client's requests served by the new master {new}",
        sorted({master for _, master in client.answers}), ZERO_DOWNTIME)
    last = {master for _, master in client.answers[after + 1:]}
    assert last <= {new}, book.expected(
        "only the new master's workers to answer once the old master exited", last,
        ZERO_DOWNTIME)


def test_14c_term_lets_the_request_in_flight_finish(server):
    finished = {}
    slow = threading.Thread(target=lambda: finished.update(answer=slow_request(server)),
                            daemon=True)
    slow.start()
    log = server.directory / "log"
    assert wait_for(lambda: log.exists() and "begin first" in log.read_text()), book.says(
        "GET /slow?first never reached the app", ZERO_DOWNTIME)
    new = server.upgrade(ZERO_DOWNTIME, worker_busy=True)  # so the new master answers
    old_workers = children_of(server.pid) - {new}
    os.kill(server.pid, signal.SIGTERM)
    assert wait_for(lambda: server.process.popen.poll() is not None, 0.3) is False, book.says(
        "the old master exited at once on TERM, with a request still in flight", ZERO_DOWNTIME)
    (server.directory / "go-first").touch()
    slow.join(DEADLINE)
    answer = finished.get("answer")
    assert answer is not None and answer[0] == 200, book.expected(
        "200 for the request that was in flight when the old master got TERM", answer,
        ZERO_DOWNTIME)
    server.wait_for_exit(ZERO_DOWNTIME)
    assert wait_for(lambda: not any(alive(pid) for pid in old_workers)), \
        book.says("the old master's workers were still running after it exited", ZERO_DOWNTIME)


def slow_request(server: Server) -> tuple[int | None, bytes]:
    try:
        response = exchange(server.address, get("/slow?first"))
    except OSError as error:
        return None, str(error).encode()
    return response.status, response.body
