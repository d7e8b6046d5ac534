"""The gevent worker: one process, one thread, and a green thread for every connection.

A green thread (a greenlet) is a function with its own stack that gives the
CPU away only when it would wait. After ``monkey.patch_all()``, waiting in
``recv``, ``sendall``, ``time.sleep`` or ``select`` switches to another green
thread instead of blocking the process, so the sync worker's plain blocking
code serves thousands of slow connections at once.

Explained in the chapter "Threads and keep-alive".
gunicorn: gunicorn/workers/ggevent.py and base_async.py.
Left out: gevent's own pywsgi server (gunicorn's ``gevent_pywsgi``), and eventlet.
The file is not called gevent.py, so that its ``import gevent`` can only mean gevent.
"""

import time

from unicorn.http import errors
from unicorn.http.parser import Request
from unicorn.sockets import Listener
from unicorn.workers.base import Connection, Worker, WorkerTimeout

try:
    import gevent
    import gevent.pool
    import gevent.select
    import gevent.socket
    from gevent import monkey
except ImportError:
    INSTALL = "pip install 'unicorn-wsgi[gevent]'"
    raise ImportError(f"the gevent worker needs gevent: {INSTALL}") from None

# The longest the main green thread sleeps: the heart beats at least this often.
TICK = 1.0
# Leave this long before graceful_timeout, when the arbiter sends SIGKILL.
GRACE_MARGIN = 0.5


class GeventWorker(Worker):
    """A green thread per listener accepts; a green thread per connection serves it.

    What ``timeout`` means here: *no green thread has let go of the CPU* for
    that long. The main green thread beats the heart once a ``TICK``, but
    only when it gets to run, and green threads are never interrupted: they
    switch only when one waits. A request that waits (for the network, the
    database, ``time.sleep``) never trips the timeout, however long it takes;
    one that computes, or calls C code that blocks without the patch knowing,
    stops every other connection of the worker, so the arbiter kills it.
    """

    multithread = True  # wsgi.multithread: requests interleave, as with threads
    keeps_connections = True  # an idle connection costs a green thread: a few KB

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Made in the child by run(); no lock is needed for anything: a green
        # thread runs alone until it waits, so "+= 1" in count_request is safe.
        self.pool: gevent.pool.Pool | None = None  # the green threads serving connections
        self.waiting: set[gevent.Greenlet] = set()  # those waiting for a request head
        self.timed_out = False  # SIGABRT stopped a green thread that would not let go

    def init_process(self) -> None:
        """Patch the standard library, then boot as every worker does.

        Here, in the child after fork, and never in the master: the master
        relies on blocking select(), fork() and waitpid(), and a patched
        master would carry gevent's event loop into every child it forks,
        sync and gthread ones too. Before super().init_process(), because that
        imports the app: its modules must find the patched socket, ssl,
        threading and time. (With --preload the app was imported in the master,
        unpatched: a module that did ``from time import sleep`` keeps the
        blocking sleep.)
        """
        monkey.patch_all()
        gevent.reinit()  # gevent's hub must know it is in a new process
        super().init_process()

    def run(self) -> None:
        """Beat the heart and watch for signals while the green threads serve."""
        self.pool = gevent.pool.Pool(self.cfg.worker_connections)
        acceptors = [gevent.spawn(self.accept_loop, listener) for listener in self.listeners]
        while self.alive and not self.parent_changed():
            self.heartbeat.beat()  # tell the arbiter this worker is alive
            # gevent's select: the main green thread sleeps, the others run.
            ready, _, _ = gevent.select.select([self.wakeup_r], [], [], TICK)
            if ready:
                self.drain_wakeup()
        gevent.killall(acceptors)  # stop accepting: new clients go to the other workers
        self.finish_in_flight()
        if self.timed_out:
            raise WorkerTimeout()  # leave with status 1, as the sync worker does

    def finish_in_flight(self) -> None:
        """Close connections waiting for a request; let running requests finish,
        until just before graceful_timeout."""
        gevent.killall(list(self.waiting))
        deadline = time.monotonic() + max(self.cfg.graceful_timeout - GRACE_MARGIN, 0)
        while len(self.pool) and time.monotonic() < deadline:
            self.heartbeat.beat()
            self.pool.join(timeout=min(TICK, deadline - time.monotonic()))
        if len(self.pool):
            self.log.warning("Exiting with %d request(s) still running", len(self.pool))

    def accept_loop(self, listener: Listener) -> None:
        """Wait for a client, accept it, give it a green thread of its own; repeat.

        When ``worker_connections`` green threads are busy, ``spawn`` waits for
        one to end, and new clients wait in the kernel's backlog meanwhile.
        """
        while self.alive:
            gevent.socket.wait_read(listener.fileno())  # only this green thread waits
            try:
                # accept() builds the new socket from the socket module's class,
                # which the patch replaced: the connection is a gevent socket.
                sock, client = listener.sock.accept()
            except (BlockingIOError, ConnectionAbortedError):
                continue  # another worker was faster, or the client gave up
            except OSError as error:  # EMFILE and friends: too many open files
                self.log.error("Cannot accept a connection: %s", error)
                gevent.sleep(0.1)
                continue
            sock.settimeout(self.cfg.timeout or None)  # a silent client is let go
            sock = self.secure(sock, handshake_now=self.cfg.do_handshake_on_connect)
            if sock is not None:
                conn = Connection(sock, client, listener.name, self.limits,
                                  self.cfg.timeout or None)
                self.pool.spawn(self.serve, conn)

    def serve(self, conn: Connection) -> None:
        """A green thread's whole life: the requests of one connection, in order.

        The sync worker's serve() in a loop. Blocking code, but every wait
        lets the other green threads run.
        """
        kept = False
        try:
            while (request := self.next_request(conn, kept)) is not None:
                kept = self.handle_request(conn, request)
                if not kept:
                    break
        except errors.HTTPError as error:
            self.reject(conn, error)
        except OSError:
            pass  # the client went away, or stalled for ``timeout`` seconds
        except WorkerTimeout:  # raised here by SIGABRT: it is this green thread that hogged
            self.timed_out = True
        finally:
            if conn.can_close_at_once():
                conn.close()
            else:
                conn.close_gently()

    def next_request(self, conn: Connection, kept: bool) -> Request | None:
        """The next request head; None if the client closes or is silent too long.

        A kept connection may idle ``keepalive`` seconds, as gunicorn's
        base_async allows; a new one has ``timeout`` seconds for its first head.
        """
        seconds = self.cfg.keepalive if kept else (self.cfg.timeout or None)
        me = gevent.getcurrent()
        self.waiting.add(me)  # killed, if the worker stops meanwhile
        try:
            with gevent.Timeout(seconds, False):  # False: time out quietly, leaving the block
                return conn.read_request()
            # Out of time. An idle client is let go without a word; one that
            # sent part of a head is told why (408), as the gthread worker does.
            if not conn.parser.between_requests:
                raise errors.RequestTimeout("request head not received in time")
            return None
        finally:
            self.waiting.discard(me)
