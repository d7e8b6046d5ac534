"""A small, correct pre-fork server with lab 6's interface; each broken variant changes one method.

The master blocks SIGCHLD, SIGTERM and SIGINT and takes them one at a time with sigwait(), so no
handler ever runs in the middle of its work (chapter 7 explains why that matters). It is not the
lab's answer key: unicorn's arbiter is (unicorn/labs/reference/lab06/prefork.py runs it).
"""

import argparse
import os
import signal
import socket
import sys

# The signals the master waits for. Blocked in the master, so they wait in the kernel until
# sigwait() takes them; unblocked again in each worker, which inherits the mask through fork.
SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}


def open_listener(bind: str) -> socket.socket:
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
    name = listener.getsockname()
    if listener.family == socket.AF_UNIX:
        return f"unix:{name}"
    return f"http://{name[0]}:{name[1]}"


def respond(connection: socket.socket, pid: int | None = None) -> None:
    """Read one request head, answer `worker PID`, close this process's copy of the connection."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = connection.recv(4096)
        if not data:
            connection.close()
            return
        head += data
    body = f"worker {pid or os.getpid()}\n".encode()
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%s" % (len(body), body))
    connection.close()


class Master:
    def __init__(self, listener: socket.socket, number_of_workers: int) -> None:
        self.listener = listener
        self.number_of_workers = number_of_workers
        self.workers: set[int] = set()

    def run(self) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        self.manage_workers()
        while signal.sigwait(SIGNALS) == signal.SIGCHLD:
            self.reap_workers()
            self.manage_workers()
        self.stop()
        return 0

    def manage_workers(self) -> None:
        while len(self.workers) < self.number_of_workers:
            self.spawn_worker()

    def spawn_worker(self) -> int:
        pid = os.fork()
        if pid:
            self.workers.add(pid)
            return pid
        status = 1
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            self.worker_loop()
            status = 0
        finally:
            os._exit(status)

    def worker_loop(self) -> None:
        while True:
            connection, _ = self.listener.accept()
            respond(connection)

    def reap_workers(self) -> list[int]:
        reaped = []
        while self.workers:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            self.workers.discard(pid)
            reaped.append(pid)
        return reaped

    def stop(self) -> None:
        for pid in self.workers:
            os.kill(pid, signal.SIGTERM)
        for pid in self.workers:
            os.waitpid(pid, 0)
        self.workers.clear()


def main(argv: list[str], master_class: type[Master] = Master) -> None:
    options = argparse.ArgumentParser()
    options.add_argument("-w", "--workers", type=int, default=2)
    options.add_argument("-b", "--bind", default="127.0.0.1:8000")
    args = options.parse_args(argv)
    listener = open_listener(args.bind)
    print(f"Listening at: {describe(listener)} ({os.getpid()})", flush=True)
    sys.exit(master_class(listener, args.workers).run())
