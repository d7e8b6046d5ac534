"""Lab 6: a pre-fork server. The master binds, forks N workers, and keeps N of them alive.

Keep the interface (names, arguments, return values) and main(), which is already written, as are
open_listener() and respond(); write the five methods of Master that raise NotImplementedError.
Read labs/06-prefork/README.md first. Run: python -m unicorn.labs check 6 --part a
Try it: python labs/06-prefork/starter/prefork.py -w 3 -b 127.0.0.1:8000
"""

import argparse
import os
import socket
import sys


def open_listener(bind: str) -> socket.socket:
    """A listening socket for HOST:PORT or unix:PATH (lab 2 built this; here it is given)."""
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
    """Read one request head, answer `worker PID` (this process's pid), close the connection."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = connection.recv(4096)
        if not data:  # the client left before its head was complete: nobody to answer
            connection.close()
            return
        head += data
    body = f"worker {os.getpid()}\n".encode()
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%s" % (len(body), body))
    connection.close()


class Master:
    """The master process: it forks the workers, reaps them, and replaces the ones that die.

    It never accepts a connection itself: the workers do, each on its copy of `listener`.
    """

    def __init__(self, listener: socket.socket, number_of_workers: int) -> None:
        self.listener = listener
        self.number_of_workers = number_of_workers
        self.workers: set[int] = set()  # the pids of the workers alive (or not yet reaped)

    def run(self) -> int:
        """Fork the workers, then sleep until something happens and act on it, until TERM.

        A worker that dies (SIGCHLD) is reaped and replaced; TERM (or INT) stops every worker
        and returns the exit status, 0. Return only once every worker has been reaped.
        """
        raise NotImplementedError("Lab 6a: fork the workers, then wait for SIGCHLD and TERM")

    def spawn_worker(self) -> int:
        """Fork one worker and return its pid. In the child, this never returns: the child
        runs worker_loop() and then leaves with os._exit(), never through the master's code."""
        raise NotImplementedError("Lab 6a: os.fork(); the child serves, the parent records it")

    def worker_loop(self) -> None:
        """The worker's whole life, in the child: accept a connection on the listener it
        inherited, respond() to it, and again, until it is killed or told to stop (TERM)."""
        raise NotImplementedError("Lab 6a: accept() and respond(), forever")

    def reap_workers(self) -> list[int]:
        """Wait for every worker that has exited, without blocking; forget each one, and
        return their pids (the master forks replacements for them)."""
        raise NotImplementedError("Lab 6b: os.waitpid(-1, os.WNOHANG) until nothing is left")

    def stop(self) -> None:
        """Send TERM to every worker, then wait for each of them to exit."""
        raise NotImplementedError("Lab 6c: kill the workers, then wait for all of them")


def main(argv: list[str]) -> None:
    """prefork.py -w N -b ADDRESS: one "Listening at:" line, then the master runs."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-w", "--workers", type=int, default=2)
    options.add_argument("-b", "--bind", default="127.0.0.1:8000", metavar="ADDRESS")
    args = options.parse_args(argv)
    listener = open_listener(args.bind)
    print(f"Listening at: {describe(listener)} ({os.getpid()})", flush=True)
    sys.exit(Master(listener, args.workers).run())


if __name__ == "__main__":
    main(sys.argv[1:])
