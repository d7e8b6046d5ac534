"""Lab 8's tests: labs/08-heartbeats/starter/master.py, its functions and its running master.

One part at a time:  python -m pytest labs/08-heartbeats/tests -k test_08b_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/08-heartbeats/tests
"""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from unicorn.labs.testing import DEADLINE, Book, connect, exchange, get

book = Book(__file__)

HEART = "The heartbeat is a file"
CHECK = "The check: ABRT, then KILL"
BUDGET = "Restarting on purpose: max_requests and jitter"
GRACEFUL = "Stopping in time: the graceful timeout"

# The timeout of the unit tests of the check, in seconds: short, so they run quickly.
SHORT = 0.2
FAKE_PID = 999_999_999  # never a real process: the tests record signals instead of sending them


@pytest.fixture(scope="module")
def code(impl):
    """The master module under test: the starter, or unicorn's adapter (LAB_IMPL)."""
    return impl.load("master")


@pytest.fixture
def heart(code, short_tmp):
    heartbeat = code.Heartbeat(str(short_tmp))
    yield heartbeat
    heartbeat.close()


def beat_until_it_shows(heartbeat, before: float) -> bool:
    """Beat until last_beat() passes `before`. The kernel stamps ctime from a coarse clock, so a
    beat within the same few milliseconds as the last stamp may not move it; a later one does."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        heartbeat.beat()
        if heartbeat.last_beat() > before:
            return True
    return False


# --- Part a: the heartbeat ------------------------------------------------------------------


def test_08a_file_has_no_name(code, short_tmp, heart):
    left = sorted(path.name for path in short_tmp.iterdir())
    assert left == [], book.expected("no file left in the directory", left, HEART)
    links = os.fstat(heart.fileno()).st_nlink
    assert links == 0, book.expected("0 links (the name unlinked at once)", links, HEART)


def test_08a_beat_moves_last_beat(code, heart):
    before = heart.last_beat()
    assert beat_until_it_shows(heart, before), book.says(
        f"last_beat() stayed at {before} however often beat() was called", HEART)
    late = time.time() - heart.last_beat()
    assert abs(late) < 1, book.expected("last_beat() within a second of time.time() after a beat",
                                        f"{late:.3f}s off", HEART)


def test_08a_last_beat_stays_put_without_beats(code, heart):
    heart.beat()
    first = heart.last_beat()
    threading.Event().wait(0.05)  # let the clock move on: a last_beat() that reads it would too
    assert heart.last_beat() == first, book.expected(
        "the same last_beat() until the next beat", (first, heart.last_beat()), HEART)


def test_08a_beat_in_child_is_seen_by_parent(code, heart):
    """Made before fork, as the master makes it: the worker's beats show in the master."""
    before = heart.last_beat()
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if beat_until_it_shows(heart, before) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, book.says(
        "the child's beats never moved its own last_beat()", HEART)
    assert heart.last_beat() > before, book.says(
        "the child beat, but the parent's last_beat() did not move: is the fd shared?", HEART)


def test_08a_killed_process_leaves_no_file(code, short_tmp):
    pid = os.fork()
    if pid == 0:
        try:
            code.Heartbeat(str(short_tmp))
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup code gets a chance to run
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == -signal.SIGKILL, book.says(
        f"Heartbeat() failed in the child (exit {os.waitstatus_to_exitcode(status)})", HEART)
    left = sorted(path.name for path in short_tmp.iterdir())
    assert left == [], book.expected("nothing left after a SIGKILL", left, HEART)


def test_08a_close_closes_the_fd_once(code, short_tmp):
    heartbeat = code.Heartbeat(str(short_tmp))
    fd = heartbeat.fileno()
    heartbeat.close()
    heartbeat.close()  # twice is harmless: master and error paths may both close
    try:
        os.fstat(fd)
    except OSError:
        return
    raise AssertionError(book.says(f"fd {fd} is still open after close()", HEART))


# --- Part b: the check, as a function --------------------------------------------------------


class Signals:
    """A kill() that records (pid, signal name) instead of sending anything."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def __call__(self, pid: int, signum: int) -> None:
        self.sent.append((pid, signal.Signals(signum).name))


def check_until_a_signal(code, workers, timeout: float) -> tuple[Signals, float]:
    """Run the check over and over until it sends something; return it and when it did."""
    kill = Signals()
    started = time.monotonic()
    while not kill.sent and time.monotonic() - started < DEADLINE:
        code.murder_workers(workers, timeout, kill)
    return kill, time.monotonic() - started


def test_08b_silent_worker_gets_abrt_then_kill(code, heart):
    worker = code.Worker(heart, FAKE_PID)
    heart.beat()
    kill, after = check_until_a_signal(code, [worker], SHORT)
    assert kill.sent == [(FAKE_PID, "SIGABRT")], book.expected(
        f"one SIGABRT once the worker was silent for {SHORT}s", kill.sent, CHECK)
    assert after >= SHORT * 0.5, book.expected(
        f"no signal before {SHORT}s of silence", f"one after {after:.3f}s", CHECK)
    assert worker.aborted, book.says("the worker was sent SIGABRT but not marked aborted", CHECK)
    code.murder_workers([worker], SHORT, kill)
    assert kill.sent[1:] == [(FAKE_PID, "SIGKILL")], book.expected(
        "SIGKILL on the next check of an aborted worker", kill.sent, CHECK)


def test_08b_beating_worker_is_left_alone(code, short_tmp):
    beating, silent = code.Heartbeat(str(short_tmp)), code.Heartbeat(str(short_tmp))
    try:
        workers = [code.Worker(beating, FAKE_PID), code.Worker(silent, FAKE_PID + 1)]
        kill = Signals()
        started = time.monotonic()
        while time.monotonic() - started < SHORT * 3:
            beating.beat()
            code.murder_workers(workers, SHORT, kill)
        assert (FAKE_PID + 1, "SIGABRT") in kill.sent, book.says(
            f"a worker silent for {SHORT * 3}s got no SIGABRT", CHECK)
        assert all(pid != FAKE_PID for pid, _ in kill.sent), book.expected(
            "no signal to the worker that kept beating", kill.sent, CHECK)
    finally:
        beating.close()
        silent.close()


def test_08b_timeout_zero_turns_the_check_off(code, heart):
    worker = code.Worker(heart, FAKE_PID)
    kill = Signals()
    code.murder_workers([worker], SHORT, kill)  # the check runs at all (the starter raises here)
    threading.Event().wait(SHORT * 2)  # older than the timeout it would have had
    code.murder_workers([worker], 0, kill)
    assert kill.sent == [], book.expected("no signal with timeout 0", kill.sent, CHECK)


# --- Parts b and c: the master, as a process ---------------------------------------------------


class Master:
    """The implementation's master.py running, with what it said about its workers."""

    def __init__(self, impl, start, *options: str) -> None:
        self.process = start([*impl.command("master"), "-b", "127.0.0.1:0", *options],
                             impl.environment())
        found = self.process.wait_for_lines(r"Listening at: http://([0-9.]+):(\d+)")
        assert found, book.says(f"the master did not say 'Listening at:'; it said: "
                                f"{self.process.last_lines()}", CHECK)
        self.address = (found[0].group(1), int(found[0].group(2)))

    def booted(self, count: int, timeout: float = DEADLINE) -> list[int]:
        """The pids of the first `count` workers booted, waiting for them up to `timeout`;
        fewer if no more were booted in that time."""
        found = self.process.wait_for_lines(r"Booting worker with pid: (\d+)", count, timeout)
        return [int(match.group(1)) for match in found]

    def workers(self, count: int, section: str) -> list[int]:
        """The pids of the first `count` workers, which must boot."""
        pids = self.booted(count)
        assert len(pids) == count, book.says(
            f"expected {count} 'Booting worker with pid:' lines, got {len(pids)}; the master "
            f"said: {self.process.last_lines()}", section)
        return pids

    def pid_of_answer(self, section: str) -> int:
        """GET /: the pid of the worker that answered."""
        try:
            response = exchange(self.address, get("/"))
        except OSError as error:
            raise AssertionError(book.says(f"GET / failed ({error}); the master said: "
                                           f"{self.process.last_lines()}", section)) from None
        assert response.status == 200, book.says(
            f"GET / got {response.raw[:60]!r}; the master said: {self.process.last_lines()}",
            section)
        return int(response.body)

    def send(self, path: str, section: str):
        """Send a request and return the open socket, without waiting for an answer."""
        try:
            sock = connect(self.address)
            sock.sendall(get(path))
        except OSError as error:
            raise AssertionError(book.says(f"could not send GET {path} ({error}); the master "
                                           f"said: {self.process.last_lines()}", section)) from None
        return sock


def gone(pid: int) -> bool:
    """The process has exited and been reaped (a zombie is not gone: its parent must reap it)."""
    return not os.path.exists(f"/proc/{pid}")


def wait_until_gone(pid: int, timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        threading.Event().wait(0.05)
    return False


def wait_for_file(path: Path, what: str, section: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not path.exists():
        assert time.monotonic() < deadline, book.says(f"{what} never reached the app", section)
        threading.Event().wait(0.02)


def test_08b_hung_worker_is_replaced_and_its_sibling_spared(impl, start, short_tmp):
    master = Master(impl, start, "-w", "2", "--timeout", "1")
    first, second = master.workers(2, CHECK)
    flag = short_tmp / "hung"
    with master.send(f"/hang?flag={flag}", CHECK):
        wait_for_file(flag, "GET /hang", CHECK)
        replacements = master.booted(3)
        assert len(replacements) == 3, book.says(
            "a worker stopped beating (GET /hang) and no replacement was booted within "
            f"{DEADLINE}s; the master said: {master.process.last_lines()}", CHECK)
        hung = [pid for pid in (first, second) if wait_until_gone(pid, 0.5)]
        assert len(hung) == 1, book.expected("exactly one of the two workers gone", hung, CHECK)
    healthy = second if hung == [first] else first
    assert not gone(healthy), book.says(
        f"worker {healthy} kept beating while idle, yet it was killed: does your worker beat "
        "while it waits for a connection?", CHECK)
    extra = master.booted(4, timeout=1.5)
    assert len(extra) == 3, book.says("a fourth worker was booted: a healthy one was killed",
                                      CHECK)


def test_08b_worker_that_ignores_abrt_is_killed(impl, start, short_tmp):
    master = Master(impl, start, "-w", "1", "--timeout", "1")
    [stuck] = master.workers(1, CHECK)
    flag = short_tmp / "hung"
    with master.send(f"/hang-hard?flag={flag}", CHECK):
        wait_for_file(flag, "GET /hang-hard", CHECK)
        assert wait_until_gone(stuck), book.says(
            f"worker {stuck} ignores SIGABRT and was still there {DEADLINE}s later: "
            "the next check must send SIGKILL", CHECK)
    fresh = master.pid_of_answer(CHECK)
    assert fresh != stuck, book.expected("a new worker to answer", fresh, CHECK)


# --- Part c: max_requests, jitter, and the graceful stop ------------------------------------


def test_08c_budget_without_jitter(code):
    got = [code.request_budget(3, 0) for _ in range(20)]
    assert set(got) == {3}, book.expected("3 every time for (3, 0)", sorted(set(got)), BUDGET)
    never = code.request_budget(0, 5)
    assert never >= 2**62, book.expected("sys.maxsize for max_requests 0 (never restart)", never,
                                         BUDGET)


def test_08c_jitter_spreads_the_budgets(code):
    got = {code.request_budget(100, 20) for _ in range(300)}
    assert min(got) >= 100 and max(got) <= 120, book.expected(
        "budgets from 100 to 120 for (100, 20)", (min(got), max(got)), BUDGET)
    assert {100, 120} <= got and len(got) > 15, book.expected(
        "both ends and most numbers between drawn in 300 tries", sorted(got), BUDGET)


def pids_of(master: Master, count: int) -> list[int]:
    return [master.pid_of_answer(BUDGET) for _ in range(count)]


def test_08c_worker_is_replaced_after_max_requests(impl, start):
    master = Master(impl, start, "-w", "1", "--max-requests", "3")
    pids = pids_of(master, 7)
    want = [pids[0]] * 3 + [pids[3]] * 3 + [pids[6]]
    assert pids == want and len(set(pids)) == 3, book.expected(
        "three answers per worker pid (A A A B B B C)", pids, BUDGET)


def runs(pids: list[int]) -> list[int]:
    """The lengths of the runs of equal pids, the last (unfinished) one left out."""
    lengths, count = [], 1
    for before, after in zip(pids, pids[1:], strict=False):
        if after == before:
            count += 1
        else:
            lengths.append(count)
            count = 1
    return lengths


def test_08c_jitter_varies_the_restart_points(impl, start):
    master = Master(impl, start, "-w", "1", "--max-requests", "2", "--max-requests-jitter", "4")
    lengths = runs(pids_of(master, 40))
    assert len(lengths) >= 5 and all(2 <= length <= 6 for length in lengths), book.expected(
        "each worker serving 2 to 6 requests", lengths, BUDGET)
    assert len(set(lengths)) > 1, book.expected(
        "workers restarting after different numbers of requests", lengths, BUDGET)


def test_08c_term_lets_the_request_in_flight_finish(impl, start, short_tmp):
    master = Master(impl, start, "-w", "1", "--graceful-timeout", "5")
    [worker] = master.workers(1, GRACEFUL)
    flag = short_tmp / "started"
    with master.send(f"/sleep?seconds=0.5&flag={flag}", GRACEFUL) as sock:
        wait_for_file(flag, "GET /sleep", GRACEFUL)
        os.kill(master.process.popen.pid, signal.SIGTERM)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200") and str(worker).encode() in answer, book.expected(
        "the request in flight answered 200 after SIGTERM", answer[:60], GRACEFUL)
    try:
        code = master.process.popen.wait(DEADLINE)
    except Exception:
        raise AssertionError(book.says("the master did not exit after TERM", GRACEFUL)) from None
    assert code == 0 and gone(worker), book.expected("exit 0, the worker gone", code, GRACEFUL)


def test_08c_graceful_timeout_kills_a_stuck_worker(impl, start, short_tmp):
    master = Master(impl, start, "-w", "1", "--graceful-timeout", "1")
    [worker] = master.workers(1, GRACEFUL)
    flag = short_tmp / "hung"
    with master.send(f"/hang?flag={flag}", GRACEFUL):
        wait_for_file(flag, "GET /hang", GRACEFUL)
        os.kill(master.process.popen.pid, signal.SIGTERM)
        started = time.monotonic()
        try:
            master.process.popen.wait(DEADLINE)
        except Exception:
            raise AssertionError(book.says(
                "the master did not exit after TERM with a stuck worker and --graceful-timeout 1",
                GRACEFUL)) from None
        took = time.monotonic() - started
    assert 0.8 <= took < 4, book.expected("an exit about 1s after TERM", f"{took:.2f}s", GRACEFUL)
    assert wait_until_gone(worker, 1), book.says(
        f"the stuck worker {worker} outlived the master: it must be sent SIGKILL", GRACEFUL)
