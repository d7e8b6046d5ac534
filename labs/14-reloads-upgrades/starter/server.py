"""Lab 14: the re-exec half of a zero-downtime upgrade, in a small pre-fork server.

The server already serves: its master binds, writes its pidfile, forks workers that accept on
the shared socket, and replaces a worker that dies. What it cannot do yet is hand itself over to
a new copy of itself (USR2) without closing the socket. Keep everything that is written; write
the bodies of the functions that raise NotImplementedError, in the section "Yours to write".
Read labs/14-reloads-upgrades/README.md first. Run: python -m unicorn.labs check 14 --part a
Try it: python labs/14-reloads-upgrades/starter/server.py -b 127.0.0.1:8000 --pid /tmp/lab.pid \\
            mymodule:app    (then kill -USR2 $(cat /tmp/lab.pid))
"""

import argparse
import importlib
import os
import select
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

# The environment variable that hands the listening socket's fd to the new master (unicorn's).
LISTEN_FD = "UNICORN_FD"
# The environment variable that tells the new master the pid of the master that started it.
OLD_MASTER = "UNICORN_OLD_MASTER"
# How long the master waits for a signal before it looks at its workers again, and how long a
# worker waits for a connection before it checks whether it should stop.
TICK = 0.5
# How long a stopping master lets its workers finish the requests they are serving.
GRACEFUL_TIMEOUT = 10.0
# How long a client may keep a worker waiting for its next bytes.
CLIENT_TIMEOUT = 10.0


@dataclass
class Master:
    """Everything the master knows. One per process: a new master (USR2) builds its own."""

    address: tuple[str, int]  # where to bind, if no socket was inherited
    app_uri: str  # "module:attribute", imported by each worker
    worker_count: int
    pidfile: str | None  # the --pid path; None: no pidfile
    argv: list[str]  # this process's own arguments, for the exec that USR2 starts
    pid: int = field(default_factory=os.getpid)
    listener: socket.socket | None = None
    workers: set[int] = field(default_factory=set)  # pids of the workers alive
    reexec_pid: int = 0  # the new master that USR2 forked, while it lives
    old_master_pid: int = 0  # the master whose USR2 started us, until it exits
    pidfile_written: str | None = None  # the path our pid is in now (PIDFILE or PIDFILE.2)
    wakeup: int = -1  # the read end of the pipe that signals are written to


# --- Yours to write ------------------------------------------------------------------------


def listen(address: tuple[str, int]) -> socket.socket:
    """The listening socket: the one the old master passed in LISTEN_FD, or a new one.

    When LISTEN_FD is in os.environ, adopt that fd (and remove the variable, so that your own
    workers and your own next USR2 do not adopt it again); bind nothing. Otherwise bind
    `address` and listen, as any server does.
    """
    raise NotImplementedError("Lab 14a: adopt the fd in LISTEN_FD, or bind a new socket")


def reexec(master: Master) -> int:
    """USR2: fork; the child execs this same program, with the same arguments, as a new master.

    The parent returns the child's pid at once and goes on serving. The child must pass the
    listening socket through the exec: its fd must be inheritable (fds are not, by default), and
    its number goes in LISTEN_FD; OLD_MASTER is the parent's pid. The child never returns.
    """
    raise NotImplementedError("Lab 14a: fork, and exec a new master that inherits the socket")


def pidfile_path(path: str, old_master_pid: int) -> str:
    """Where this master writes its pid: PIDFILE, or PIDFILE.2 while an old master lives."""
    raise NotImplementedError("Lab 14b: PIDFILE.2 for a master that USR2 started")


def take_over_pidfile(master: Master) -> None:
    """Called once, when the old master has exited: PIDFILE.2 becomes PIDFILE.

    Rename, do not rewrite: rename() replaces the old file in one step, so a script that reads
    PIDFILE finds the old pid or the new one, never nothing. Update master.pidfile_written.
    """
    raise NotImplementedError("Lab 14b: rename PIDFILE.2 to PIDFILE")


def stop_gracefully(master: Master) -> None:
    """TERM: stop accepting, let every worker finish the request it serves, then exit 0.

    Send each worker SIGTERM (a worker finishes its request and exits, see worker_loop), wait
    for them all to exit, SIGKILL any still running after GRACEFUL_TIMEOUT, remove the pidfile
    (remove_pidfile) and exit with status 0. Never close the socket in a way that stops the new
    master: it holds the same socket, and must keep accepting.
    """
    raise NotImplementedError("Lab 14c: TERM the workers, wait for them, then exit")


# --- The master (written) ------------------------------------------------------------------


def run(master: Master) -> None:
    """The master's loop: signals first, then the workers, forever."""
    while True:
        if master.old_master_pid and os.getppid() != master.old_master_pid:
            # Our parent, the old master, has exited (we were given to another parent).
            master.old_master_pid = 0
            if master.pidfile:
                take_over_pidfile(master)
        for signum in wait_for_signals(master.wakeup, TICK):
            handle(master, signum)
        reap_workers(master)
        while len(master.workers) < master.worker_count:
            spawn_worker(master)


def handle(master: Master, signum: int) -> None:
    if signum == signal.SIGUSR2:
        if master.reexec_pid or master.old_master_pid:
            print("USR2 ignored: an upgrade is already under way", flush=True)
        else:
            master.reexec_pid = reexec(master)
            print(f"USR2: started a new master, pid {master.reexec_pid}", flush=True)
    elif signum == signal.SIGTERM:
        stop_gracefully(master)
    elif signum in (signal.SIGINT, signal.SIGQUIT):
        stop_quickly(master)


def route_signals() -> int:
    """Make each signal the master handles write its number to a pipe; return the read end.

    The handlers themselves do nothing: the loop reads the pipe (chapter 7, the self-pipe).
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR2, signal.SIGCHLD):
        signal.signal(signum, lambda number, frame: None)
    return read_end


def wait_for_signals(wakeup: int, timeout: float) -> list[int]:
    """The signals that arrived, waiting up to `timeout` for the first."""
    ready, _, _ = select.select([wakeup], [], [], timeout)
    return list(os.read(wakeup, 64)) if ready else []


def reap_workers(master: Master) -> None:
    """Collect every child that exited: a worker (replaced by the loop) or the new master."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        master.workers.discard(pid)
        if pid == master.reexec_pid:
            print(f"The new master {pid} exited; this master goes on", flush=True)
            master.reexec_pid = 0


def spawn_worker(master: Master) -> None:
    pid = os.fork()
    if pid:
        master.workers.add(pid)
        return
    status = 1
    try:
        signal.set_wakeup_fd(-1)
        os.close(master.wakeup)
        worker_loop(master.listener, load_app(master.app_uri), master.pid)
        status = 0
    finally:
        os._exit(status)  # never return into the master's loop


def stop_quickly(master: Master) -> None:
    """INT and QUIT: kill the workers, requests in flight and all, and exit."""
    for pid in master.workers:
        os.kill(pid, signal.SIGKILL)
    remove_pidfile(master)
    sys.exit(0)


def remove_pidfile(master: Master) -> None:
    """Remove our pidfile, but only if it still holds our pid: after a hand-over it is not ours."""
    path = master.pidfile_written
    try:
        with open(path or "") as file:
            ours = file.read().strip() == str(master.pid)
        if ours:
            os.unlink(path)
    except FileNotFoundError:
        pass


def write_pidfile(path: str, pid: int) -> None:
    """Write through a temporary file and rename, so that no reader sees a half-written pid."""
    temporary = f"{path}.{pid}.tmp"
    with open(temporary, "w") as file:
        file.write(f"{pid}\n")
    os.replace(temporary, path)


# --- A worker (written) --------------------------------------------------------------------


def worker_loop(listener: socket.socket, app: Callable, master_pid: int) -> None:
    """Accept and serve one connection at a time until TERM, or until the master is gone.

    TERM only sets a flag: the request being served is finished, and the loop ends before the
    next accept. The listener is non-blocking, shared by every worker of both masters: whoever
    loses the race for a connection gets BlockingIOError and waits again.
    """
    stopping = []
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.append(number))
    for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGUSR2, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    while not stopping and os.getppid() == master_pid:
        ready, _, _ = select.select([listener], [], [], TICK)
        if not ready:
            continue
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            continue
        with connection:
            serve(connection, app)


def serve(connection: socket.socket, app: Callable) -> None:
    """One request, one response with Content-Length and Connection: close (chapter 5)."""
    connection.settimeout(CLIENT_TIMEOUT)
    try:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = connection.recv(65536)
            if not data:
                return
            head += data
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, version = request_line.split(" ", 2)
        path, _, query = target.partition("?")
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_PROTOCOL": version, "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        replies = []
        body = b"".join(app(environ, lambda status, headers, *_: replies.append(status)))
        head_out = (f"HTTP/1.1 {replies[0]}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n")
        connection.sendall(head_out.encode("latin-1") + body)
    except (OSError, ValueError):
        pass  # this client's problem only


def load_app(target: str) -> Callable:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name or "application")


# --- Starting ------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    """server.py [-b HOST:PORT] [-w N] [--pid PIDFILE] MODULE:APP"""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-b", "--bind", default="127.0.0.1:8000", metavar="HOST:PORT")
    options.add_argument("-w", "--workers", type=int, default=1)
    options.add_argument("--pid", metavar="PIDFILE")
    options.add_argument("app", metavar="MODULE:APP")
    parsed = options.parse_args(argv)
    host, _, port = parsed.bind.rpartition(":")
    master = Master((host, int(port)), parsed.app, parsed.workers, parsed.pid, argv)
    master.old_master_pid = int(os.environ.pop(OLD_MASTER, "0") or 0)
    sys.path.insert(0, os.getcwd())  # the app's module is found where we were started
    # Signals are routed before the world hears of us: a USR2 that arrived before this line
    # would kill the master (the default action of most signals is to terminate).
    master.wakeup = route_signals()
    master.listener = listen(master.address)
    master.listener.setblocking(False)
    bound_host, bound_port = master.listener.getsockname()[:2]  # port 0: the kernel picked
    print(f"Listening at: http://{bound_host}:{bound_port} ({master.pid})", flush=True)
    if master.pidfile:
        master.pidfile_written = pidfile_path(master.pidfile, master.old_master_pid)
        write_pidfile(master.pidfile_written, master.pid)
    run(master)


if __name__ == "__main__":
    main(sys.argv[1:])
