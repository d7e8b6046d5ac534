"""Lab 8: the clocks of a pre-fork master, a heartbeat per worker, and what the master does with it.

    python master.py -b 127.0.0.1:0 -w 2 --timeout 1 [--graceful-timeout 1]
                     [--max-requests 3 --max-requests-jitter 2]

You write four pieces, each marked NotImplementedError:
  a. Heartbeat: an unlinked temporary file whose ctime the worker moves and the master reads;
  b. murder_workers: ABRT to a worker silent for longer than the timeout, KILL on the next check;
  c. request_budget (max_requests + jitter) and stop (TERM, wait up to a deadline, then KILL).
Everything else is given and needs no change: a small master (fork, reap, replace) and a sync
worker that serves one request per connection. Read it; chapters 5 to 7 explain it.
Options and log lines are unicorn's, so the same tests run `python -m unicorn` for comparison.
"""

import argparse
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

# How often the master wakes to reap children and check heartbeats when nothing happens.
TICK = 0.5
# The signals the master waits for; they stay blocked in the master, and sigtimedwait takes them.
MASTER_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}


# --- Part a: the heartbeat ------------------------------------------------------------------


class Heartbeat:
    """A worker's proof of life, shared with the master through one open file.

    The master creates it before fork, so both processes hold the same file; the worker calls
    beat() at least once per timeout, the master reads last_beat() whenever it likes.
    The file must have no name left in `directory` once __init__ returns: a crash, even a
    SIGKILL, leaves nothing behind.
    """

    def __init__(self, directory: str | None = None) -> None:
        """Create the file in `directory` (None: the system's temporary directory)."""
        raise NotImplementedError("Lab 8a: mkstemp() in `directory`, then unlink the name at once")

    def beat(self) -> None:
        """Called by the worker: move the time last_beat() returns to now."""
        raise NotImplementedError("Lab 8a: change the inode (fchmod) so the kernel stamps ctime")

    def last_beat(self) -> float:
        """Called by the master: the time of the last beat, on time.time()'s scale."""
        raise NotImplementedError("Lab 8a: fstat() the fd and read st_ctime")

    def fileno(self) -> int:
        """The open file descriptor that carries the heartbeat."""
        raise NotImplementedError("Lab 8a: return the fd")

    def close(self) -> None:
        """Close this process's copy of the fd; a second close does nothing."""
        raise NotImplementedError("Lab 8a: os.close() the fd, once")


# --- Part b: the master's check -------------------------------------------------------------


@dataclass(eq=False)
class Worker:
    """The master's record of one worker process."""

    heartbeat: Heartbeat
    pid: int = 0
    aborted: bool = False  # set when the master has sent SIGABRT; the next check sends SIGKILL


def murder_workers(workers: list[Worker], timeout: float, kill=os.kill) -> None:
    """Check every worker's heartbeat once. A worker silent for more than `timeout` seconds gets
    SIGABRT and is marked `aborted`; an aborted worker still silent gets SIGKILL.
    `timeout` 0 turns the check off. Send signals only through `kill(pid, signum)`, and ignore
    ProcessLookupError from it: the worker may have exited since the master last reaped."""
    raise NotImplementedError("Lab 8b: compare time.time() with last_beat(); ABRT, then KILL")


# --- Part c: the other clocks ---------------------------------------------------------------


def request_budget(max_requests: int, jitter: int) -> int:
    """How many requests one worker serves before it exits: max_requests plus a random number
    from 0 to `jitter`, both ends included. max_requests 0 means never: return sys.maxsize."""
    raise NotImplementedError("Lab 8c: max_requests + random.randint(0, jitter), or sys.maxsize")


def stop(workers: list[Worker], graceful_timeout: float) -> None:
    """Stop gracefully: send every worker SIGTERM, then reap them (os.waitpid) as they exit, for
    at most `graceful_timeout` seconds. SIGKILL those still there at the deadline, and reap them."""
    raise NotImplementedError("Lab 8c: TERM, waitpid(WNOHANG) until empty or deadline, KILL")


# --- Given: the application the tests ask for -----------------------------------------------


def app(environ, start_response):
    """GET / answers the worker's pid. /sleep?seconds=S sleeps S seconds; /hang never answers
    (its heart stops); /hang-hard never answers and ignores SIGABRT too, like a worker stuck in
    C code. With flag=PATH, the slow routes first create PATH, so a test knows they started."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    path = environ["PATH_INFO"]
    if path in ("/sleep", "/hang", "/hang-hard") and "flag" in query:
        open(query["flag"][0], "w").close()
    if path == "/hang-hard":
        signal.signal(signal.SIGABRT, signal.SIG_IGN)
    if path in ("/hang", "/hang-hard"):
        while True:
            time.sleep(3600)
    if path == "/sleep":
        time.sleep(float(query["seconds"][0]))
    body = f"{os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# --- Given: the worker ----------------------------------------------------------------------


class WorkerTimeout(BaseException):
    """Raised in the worker by SIGABRT: the master saw no heartbeat for too long."""


def run_worker(worker: Worker, listener: socket.socket, options: argparse.Namespace) -> int:
    """The child's whole life: beat, wait for a connection, serve it, until told to stop or
    until the request budget is spent. Returns the exit status."""
    alive = True

    def handle_term(signum, frame) -> None:
        nonlocal alive
        alive = False  # finish the request in hand, then leave

    def handle_abort(signum, frame) -> None:
        raise WorkerTimeout()

    signal.signal(signal.SIGTERM, handle_term)
    signal.signal(signal.SIGABRT, handle_abort)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the master, which stops us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, MASTER_SIGNALS)
    budget = request_budget(options.max_requests, options.max_requests_jitter)
    served = 0
    # Wake at least twice per timeout to beat, even when no client comes.
    wait = options.timeout / 2 if options.timeout > 0 else TICK
    try:
        while alive and served < budget:
            worker.heartbeat.beat()
            if not select.select([listener], [], [], wait)[0]:
                continue
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue  # a sibling took it first
            served += 1
            serve(conn, options)
    except WorkerTimeout:
        print(f"Worker (pid:{os.getpid()}) timed out", flush=True)
        return 1
    if served >= budget:
        print(f"Autorestarting worker (pid:{os.getpid()}) after {served} requests", flush=True)
    return 0


def serve(conn: socket.socket, options: argparse.Namespace) -> None:
    """One request, one response, then close: a minimal sync HTTP/1.1 server (GET only)."""
    with conn:
        conn.setblocking(True)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        path, _, query = target.partition("?")
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                   "SERVER_NAME": "lab", "SERVER_PORT": "0", "wsgi.input": None}
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers

        body = b"".join(app(environ, start_response))
        lines = [f"HTTP/1.1 {answer['status']}", *(f"{k}: {v}" for k, v in answer["headers"]),
                 "Connection: close"]
        conn.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body)


# --- Given: the master ----------------------------------------------------------------------


class Master:
    """Keeps `workers` processes running; checks their hearts on every turn of its loop."""

    def __init__(self, listener: socket.socket, options: argparse.Namespace) -> None:
        self.listener = listener
        self.options = options
        self.workers: dict[int, Worker] = {}

    def run(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, MASTER_SIGNALS)
        while True:
            self.reap_workers()
            murder_workers(list(self.workers.values()), self.options.timeout)
            self.manage_workers()
            info = signal.sigtimedwait(MASTER_SIGNALS, TICK)
            if info is not None and info.si_signo != signal.SIGCHLD:
                print("Shutting down: Master", flush=True)
                stop(list(self.workers.values()), self.options.graceful_timeout)
                return

    def reap_workers(self) -> None:
        while self.workers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is not None:
                worker.heartbeat.close()
            print(f"Worker (pid:{pid}) exited with code {os.waitstatus_to_exitcode(status)}",
                  flush=True)

    def manage_workers(self) -> None:
        while len(self.workers) < self.options.workers:
            self.spawn_worker()

    def spawn_worker(self) -> None:
        worker = Worker(Heartbeat())  # before fork: master and worker share the file
        pid = os.fork()
        if pid:
            worker.pid = pid
            self.workers[pid] = worker
            print(f"Booting worker with pid: {pid}", flush=True)
            return
        status = 1
        try:
            for other in self.workers.values():  # our siblings' hearts are not ours to hold
                other.heartbeat.close()
            worker.pid = os.getpid()
            status = run_worker(worker, self.listener, self.options)
        finally:
            sys.stdout.flush()
            os._exit(status)


def main(argv: list[str]) -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-b", "--bind", default="127.0.0.1:0", help="HOST:PORT")
    options.add_argument("-w", "--workers", type=int, default=1)
    options.add_argument("-t", "--timeout", type=int, default=30)
    options.add_argument("--graceful-timeout", type=int, default=30)
    options.add_argument("--max-requests", type=int, default=0)
    options.add_argument("--max-requests-jitter", type=int, default=0)
    parsed = options.parse_args(argv)
    host, _, port = parsed.bind.rpartition(":")
    listener = socket.create_server((host, int(port)), backlog=64)
    listener.setblocking(False)  # workers race for each connection; the losers go back to wait
    print(f"Listening at: http://{host}:{listener.getsockname()[1]} ({os.getpid()})", flush=True)
    Master(listener, parsed).run()


if __name__ == "__main__":
    main(sys.argv[1:])
