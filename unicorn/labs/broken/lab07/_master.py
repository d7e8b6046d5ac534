"""A small, correct master with lab 7's interface; each broken variant changes one method.

It is labs/07-signals/starter/master.py with its seven methods written: every signal is written
into a pipe by Python's C-level handler (signal.set_wakeup_fd), and the main loop reads the pipe
and acts. Not the lab's answer key: unicorn's arbiter is (unicorn/labs/reference/lab07/master.py).
"""

import argparse
import os
import re
import select
import signal
import socket
import sys
import time
import traceback

# How long the master sleeps in select() when nothing happens. Long on purpose: a signal must
# wake the master, not wait for the timeout (the tests allow 1.5 seconds).
SELECT_TIMEOUT = 30.0
# How long a graceful stop (TERM) lets workers finish their requests, and a quick stop (INT,
# QUIT) waits for them, before the master kills what is left with SIGKILL.
GRACEFUL_TIMEOUT = 30.0
QUICK_TIMEOUT = 2.0
# The signals the master answers. Workers answer TERM, INT and QUIT; they ignore the others.
SIGNALS = (signal.SIGTTIN, signal.SIGTTOU, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT,
           signal.SIGCHLD)
# The exit status of a worker that could not start: the master stops instead of forking it again.
WORKER_BOOT_ERROR = 3


def open_listener(bind: str) -> socket.socket:
    """A listening socket for HOST:PORT or unix:PATH (lab 2's work)."""
    if bind.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(bind.removeprefix("unix:"))
    else:
        host, _, port = bind.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
    sock.listen(64)
    return sock


def describe(listener: socket.socket) -> str:
    """The address a listener really has, as unicorn prints it: http://HOST:PORT or unix:PATH."""
    name = listener.getsockname()
    if listener.family == socket.AF_UNIX:
        return f"unix:{name}"
    return f"http://{name[0]}:{name[1]}"


def respond(connection: socket.socket) -> None:
    """Answer one request with `worker PID`; `GET /slow?seconds=S` first says so, then takes S
    seconds (a request still in flight when the master is told to stop), and answers `slow PID`."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = connection.recv(4096)
        if not data:
            connection.close()
            return
        head += data
    slow = re.match(rb"GET /slow\?seconds=([0-9.]+) ", head)
    if slow:
        print(f"slow request started in worker {os.getpid()}", flush=True)
        time.sleep(float(slow.group(1)))
    body = f"{'slow' if slow else 'worker'} {os.getpid()}\n".encode()
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%s" % (len(body), body))
    connection.close()


def make_wakeup_pipe() -> tuple[int, int]:
    """A non-blocking pipe that Python's C-level signal handler writes each signal's number to."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    return read_end, write_end


def drain(fd: int) -> bytes:
    """Everything waiting in a non-blocking pipe, without waiting for more."""
    data = b""
    while True:
        try:
            chunk = os.read(fd, 512)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


class Master:
    """The master: forks workers, and does what signals ask, always from its main loop."""

    def __init__(self, listener: socket.socket, number_of_workers: int) -> None:
        self.listener = listener
        self.number_of_workers = number_of_workers  # TTIN and TTOU change it
        self.workers: list[int] = []  # pids of the workers that serve, oldest first
        self.retiring: list[int] = []  # pids of workers told to stop, not yet reaped
        # The pipe a signal writes to, to wake select(): the master's, then in a worker its own.
        self.wakeup_r = self.wakeup_w = -1
        self.alive = True  # in a worker: False once TERM says "finish, then leave"

    # -- the main loop (written) ----------------------------------------------------------

    def run(self) -> int:
        """Fork the workers, then sleep until signals come, and act on each, in order."""
        self.init_signals()
        self.manage_workers()
        while True:
            for signum in self.wait_for_signals(SELECT_TIMEOUT):
                if signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
                    self.stop(graceful=signum == signal.SIGTERM)
                    return 0
                if signum == signal.SIGTTIN:
                    self.handle_ttin()
                elif signum == signal.SIGTTOU:
                    self.handle_ttou()
                elif signum == signal.SIGCHLD:
                    self.reap_workers()
            self.manage_workers()

    # -- c. the self-pipe -------------------------------------------------------------------

    def init_signals(self) -> None:
        """Route every signal in SIGNALS into the main loop: a handler that only records the
        signal, and a way for it to wake the master from select() at once."""
        self.wakeup_r, self.wakeup_w = make_wakeup_pipe()
        for signum in SIGNALS:
            signal.signal(signum, self.handle_signal)

    def handle_signal(self, signum: int, frame) -> None:
        """The handler of every signal in SIGNALS. It runs between any two lines of the master:
        record the signal and wake the loop, nothing else."""
        """Nothing to do: Python's C-level handler already wrote signum into the wake-up pipe."""

    def wait_for_signals(self, timeout: float) -> list[int]:
        """Sleep until a signal arrives or `timeout` passes; return the signals recorded since
        the last call, in the order they came, each as many times as it came."""
        ready, _, _ = select.select([self.wakeup_r], [], [], timeout)
        return list(drain(self.wakeup_r)) if ready else []

    # -- a. TTIN and TTOU ---------------------------------------------------------------------

    def handle_ttin(self) -> None:
        """One worker more (manage_workers forks it)."""
        self.number_of_workers += 1

    def handle_ttou(self) -> None:
        """One worker fewer, but never fewer than one (manage_workers stops the oldest)."""
        self.number_of_workers = max(self.number_of_workers - 1, 1)

    # -- b. stopping --------------------------------------------------------------------------

    def stop(self, graceful: bool) -> None:
        """TERM (graceful): every worker finishes the request in hand, then exits; wait up to
        GRACEFUL_TIMEOUT. INT, QUIT (quick): workers exit now (send them QUIT); wait up to
        QUICK_TIMEOUT. Then SIGKILL what is left, and reap every worker before returning."""
        self.listener.close()
        self.kill_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        self.wait_for_workers(GRACEFUL_TIMEOUT if graceful else QUICK_TIMEOUT)
        if self.workers or self.retiring:
            self.kill_workers(signal.SIGKILL)
            self.wait_for_workers(QUICK_TIMEOUT)

    def wait_for_workers(self, timeout: float) -> None:
        """Reap workers as they exit, for at most `timeout` seconds; TTIN and TTOU are dropped."""
        deadline = time.monotonic() + timeout
        while self.workers or self.retiring:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.wait_for_signals(left)
            self.reap_workers()

    def init_worker_signals(self) -> None:
        """In a new worker: TERM sets self.alive to False and wakes worker_loop's select(), so the
        worker finishes its request and leaves; INT and QUIT end the worker at once."""
        self.wakeup_r, self.wakeup_w = make_wakeup_pipe()
        signal.signal(signal.SIGTERM, self.handle_worker_term)
        signal.signal(signal.SIGINT, self.handle_worker_quit)
        signal.signal(signal.SIGQUIT, self.handle_worker_quit)

    def handle_worker_term(self, signum: int, frame) -> None:
        self.alive = False

    def handle_worker_quit(self, signum: int, frame) -> None:
        raise SystemExit(0)

    # -- workers (written: lab 6) -------------------------------------------------------------

    def manage_workers(self) -> None:
        """Fork workers until there are number_of_workers; TERM the oldest extras."""
        while len(self.workers) < self.number_of_workers:
            self.spawn_worker()
        while len(self.workers) > self.number_of_workers:
            oldest = self.workers.pop(0)
            self.retiring.append(oldest)
            self.kill_worker(oldest, signal.SIGTERM)

    def spawn_worker(self) -> int:
        """Fork a worker. The child forgets the master's signal handling, installs its own,
        serves, and leaves with os._exit: it never returns into the master's code."""
        # Blocked across fork, until the child has its own handlers: a TERM sent to a brand-new
        # worker would otherwise run the master's handler in the child, and be lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        pid = os.fork()
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            self.workers.append(pid)
            return pid
        status = WORKER_BOOT_ERROR
        try:
            self.forget_master_signals()
            self.init_worker_signals()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # what came meanwhile, now
            status = 1
            self.worker_loop()
            status = 0
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            os._exit(status)

    def forget_master_signals(self) -> None:
        """In a new worker: undo what the master set up, which came with the fork. The wake-up
        fd goes first, so that no signal writes into a pipe that is about to be closed."""
        signal.set_wakeup_fd(-1)
        for signum in SIGNALS:
            ignored = signum in (signal.SIGTTIN, signal.SIGTTOU)  # for the master only
            signal.signal(signum, signal.SIG_IGN if ignored else signal.SIG_DFL)
        for fd in (self.wakeup_r, self.wakeup_w):
            if fd != -1:
                os.close(fd)
        self.wakeup_r = self.wakeup_w = -1

    def worker_loop(self) -> None:
        """Accept and respond until TERM (self.alive False). Every worker waits on the same
        listener; select() also watches self.wakeup_r, if init_worker_signals made a pipe."""
        self.listener.setblocking(False)
        watched = [self.listener] + ([self.wakeup_r] if self.wakeup_r != -1 else [])
        while self.alive:
            ready, _, _ = select.select(watched, [], [], SELECT_TIMEOUT)
            if self.wakeup_r in ready:
                drain(self.wakeup_r)
            if self.listener not in ready or not self.alive:
                continue
            try:
                connection, _ = self.listener.accept()
            except BlockingIOError:
                continue  # another worker took it
            connection.setblocking(True)
            respond(connection)

    def reap_workers(self) -> None:
        """Wait for every child that has exited, without blocking, and forget it."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for group in (self.workers, self.retiring):
                if pid in group:
                    group.remove(pid)
            if os.waitstatus_to_exitcode(status) == WORKER_BOOT_ERROR:
                raise SystemExit(f"worker {pid} could not start (see above): stopping")

    def kill_worker(self, pid: int, signum: int) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass  # it has exited already; reap_workers collects it

    def kill_workers(self, signum: int) -> None:
        for pid in self.workers + self.retiring:
            self.kill_worker(pid, signum)


def main(argv: list[str], master_class: type[Master] = Master) -> None:
    """master.py -w N -b ADDRESS: one "Listening at:" line, then the master runs."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-w", "--workers", type=int, default=2)
    options.add_argument("-b", "--bind", default="127.0.0.1:8000", metavar="ADDRESS")
    args = options.parse_args(argv)
    listener = open_listener(args.bind)
    print(f"Listening at: {describe(listener)} ({os.getpid()})", flush=True)
    sys.exit(master_class(listener, args.workers).run())


if __name__ == "__main__":
    main(sys.argv[1:])
