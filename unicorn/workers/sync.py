"""The sync worker: one connection, one request, one at a time.

The simplest model that is still a real server: wait until a listener is
readable, accept, serve one request, close, beat the heart, repeat. Every
worker waits on the same listening sockets and the kernel hands each new
connection to one of them.

Explained in the chapter "The sync worker".
gunicorn: gunicorn/workers/sync.py.
Left out: keep-alive, on purpose, as in gunicorn: a worker held by an idle
client would serve nobody else.
"""

import select

from unicorn.http import errors
from unicorn.sockets import Listener
from unicorn.workers.base import Connection, Worker


class SyncWorker(Worker):
    def run(self) -> None:
        """Accept and serve until TERM, max_requests or the arbiter's death.

        ``timeout`` bounds a whole request here: the heart beats only between
        requests, so a request that runs longer than ``timeout`` is killed.
        """
        listener_of = {listener.sock: listener for listener in self.listeners}
        for sock in listener_of:
            sock.setblocking(False)
        waiting_on = [*listener_of, self.wakeup_r]
        while self.alive:
            self.heartbeat.beat()  # tell the arbiter this worker is alive
            if self.parent_changed():
                return
            # A signal does not interrupt select() (PEP 475 retries it); it
            # wakes us by writing to wakeup_r, which is among the fds we wait on.
            ready, _, _ = select.select(waiting_on, [], [], self.select_timeout())
            for fd_or_sock in ready:
                if fd_or_sock is self.wakeup_r:
                    self.drain_wakeup()
                elif self.alive:
                    self.accept(listener_of[fd_or_sock])

    def select_timeout(self) -> float:
        """Wake at least twice per ``timeout`` to beat the heart while idle."""
        return self.cfg.timeout / 2 if self.cfg.timeout > 0 else 1.0

    def accept(self, listener: Listener) -> None:
        """Take one connection from ``listener``, serve its one request, close it."""
        try:
            sock, client = listener.sock.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return  # another worker took it (the thundering herd), or the client gave up
        except OSError as error:  # EMFILE and friends: too many open files
            self.log.error("Cannot accept a connection: %s", error)
            return
        # Each read or write may wait half the heartbeat timeout: a client that
        # goes silent is dropped before the arbiter takes the worker for stuck.
        # (A client that trickles a byte just often enough is not; that is what
        # a buffering proxy in front, or the gthread worker, is for.)
        timeout = self.select_timeout() if self.cfg.timeout > 0 else None
        if self.tls_context is None:
            sock.setblocking(False)  # Connection waits, when it must (see there)
        else:
            # TLS: the socket blocks, its handshake bounded by the timeout too; a
            # non-blocking one may want to read in the middle of a write, which
            # Connection.wait does not follow.
            sock.settimeout(timeout)
        sock = self.secure(sock, handshake_now=self.cfg.do_handshake_on_connect)
        if sock is None:
            return
        conn = Connection(sock, client, listener.name, self.limits, timeout)
        if self.serve(conn):
            conn.close()
        else:
            conn.close_gently()

    def serve(self, conn: Connection) -> bool:
        """Read one request and answer it; return whether to close at once.

        Keep-alive is never offered. The answer says how to close: True when
        the socket can simply be closed; False when the client may still be
        sending (a refused request, or a body the app did not read) or has
        much of a large response still to receive, so it is closed gently
        (``Connection.can_close_at_once``).
        """
        try:
            request = conn.read_request()
        except errors.HTTPError as error:
            self.reject(conn, error)
            return False
        except OSError:
            return True  # the client vanished or stalled before sending a request
        if request is None:
            return True
        self.handle_request(conn, request)  # never kept alive: keeps_connections is False
        return conn.can_close_at_once()
