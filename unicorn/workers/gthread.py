"""The gthread worker: an event loop that reads requests, a thread pool that answers them.

The main thread waits in one selector on the listeners, on every idle or
half-read connection and on the wake-up pipe. A connection goes to a pool
thread only once a whole request head has arrived, and comes back after the
response. A pool thread that comes free also accepts the next new connection
itself, when its head is already whole (next_work).

Explained in the chapter "Threads and keep-alive".
gunicorn: gunicorn/workers/gthread.py.
Left out: HTTP/2.
"""

import enum
import math
import os
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial

from unicorn import tls
from unicorn.http import errors
from unicorn.http.parser import CLOSED, NEED_DATA, Request
from unicorn.sockets import Listener
from unicorn.workers.base import Connection, Worker

# The longest the main loop sleeps: the heart beats at least this often.
TICK = 1.0
# The longest time between two heartbeats while the loop is busy (see run_once).
BEAT_INTERVAL = 0.1
# How long a closing connection may take to send us its FIN (see close_gently).
LINGER = 2.0
# The longest a worker with no free thread waits before accepting again (see accept);
# a thread handing back its connection ends the wait sooner.
ACCEPT_PAUSE = 0.002
# Leave this long before graceful_timeout, when the arbiter sends SIGKILL.
GRACE_MARGIN = 0.5
# The most bytes taken from a socket at once.
RECEIVE_SIZE = 65536


class Phase(enum.Enum):
    READING = "in the selector, waiting for a whole request head"
    SERVING = "owned by a pool thread, which runs the app"
    CLOSING = "our side shut; in the selector, waiting for the client's FIN"


@dataclass(eq=False)
class Client:
    """The main loop's record of one open connection.

    A pool thread uses it only between taking it (from the work queue, or
    from ``accept_in_thread``) and ``hand_back``, and the main thread does
    not touch it in between: ownership passes with the connection, so no
    lock is needed.
    """

    conn: Connection
    phase: Phase = Phase.READING
    since: float = 0.0  # time.monotonic() of accept, of the return from a thread, or of the close
    keep_alive: bool = False  # True once a response was sent and the connection kept
    watched: bool = False  # is the socket registered in the selector?


class ThreadWorker(Worker):
    """An event loop in the main thread, the application in ``cfg.threads`` threads.

    Slow clients cost a buffer, not a thread: the main loop collects each
    request head with non-blocking reads, so clients trickling their headers
    never reach the pool. A thread gets a connection with a complete head,
    runs the app, serves any request already pipelined behind it, then hands
    the connection back to the main loop to wait, thread-free, for the next.

    What ``timeout`` means here: the *main loop* is stuck. The main thread
    beats the heart at least once a ``TICK``, whatever the threads do, so a
    slow application in a thread never makes the arbiter kill the worker.
    The same number bounds clients instead: a request head must be complete
    within ``timeout`` of the accept (or of the previous response), and a pool
    thread's socket times out after ``timeout`` seconds without a byte, so a
    client that stalls in the middle of its body loses its connection and
    gives the thread back.
    """

    multithread = True  # wsgi.multithread: the app runs in several threads at once
    keeps_connections = True  # idle connections wait in the selector, not in a thread

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # count_request() runs in pool threads; "+= 1" is read, add, write, and
        # two threads interleaving them would lose a count.
        self.count_lock = threading.Lock()
        # The main loop's state. The selector and the pool hold fds and
        # threads, so they are made in the child, by run(); never before fork.
        self.selector: selectors.BaseSelector | None = None
        self.pool: list[threading.Thread] = []  # cfg.threads threads, each running pool_thread
        self.work: queue.SimpleQueue = queue.SimpleQueue()  # (Client, Request) for the pool
        self.returned: queue.SimpleQueue = queue.SimpleQueue()  # (Client, keep_alive) from threads
        self.clients: set[Client] = set()  # every open connection, whoever holds it
        # Pool threads add the connections they accept (accept_in_thread), so
        # the set is changed and copied under this lock.
        self.clients_lock = threading.Lock()
        self.accepting = False  # are the listeners in the selector?
        self.idle_threads = 0  # pool threads waiting for work (next_work), under count_lock
        self.accept_wanted = False  # run_once's last decision to accept, under count_lock
        self.accept_paused_until = 0.0  # time.monotonic() before which we leave new clients
        self.next_beat = 0.0  # time.monotonic() from which run_once beats the heart again

    def count_request(self) -> None:
        with self.count_lock:
            super().count_request()

    # -- the main loop -------------------------------------------------------

    def run(self) -> None:
        """Serve until told to stop, let requests in flight finish, then clean up."""
        self.selector = selectors.DefaultSelector()
        for listener in self.listeners:  # pool threads accept too (next_work): never blocking
            listener.sock.setblocking(False)
        self.start_pool()
        self.log.explain(
            f"Worker {self.pid}: the main thread waits in a selector on the listeners and on "
            f"every connection; {self.cfg.threads} thread(s) run the app, and a connection "
            "reaches a thread only once a whole request head has arrived.",
            "Threads and keep-alive",
        )
        try:
            # One pipe wakes the loop for everything: the signal handlers'
            # wake-up fd and the pool threads returning connections both write to it.
            self.selector.register(self.wakeup_r, selectors.EVENT_READ, self.drain_wakeup)
            while self.alive:
                self.run_once()
                if self.parent_changed():
                    self.alive = False
            self.finish_in_flight()
        finally:
            self.shut_down()

    def run_once(self, until: float = math.inf) -> None:
        """One turn: beat, close what expired, sleep until an event or deadline, act."""
        now = time.monotonic()
        if now >= self.next_beat:
            # Not every turn, for speed: with Connection: close clients the
            # loop turns once per connection, and a beat is a system call that
            # lets the pool threads take the GIL; in a profile it cost as much
            # as the accept. The arbiter needs one beat per timeout.
            self.heartbeat.beat()  # tell the arbiter this worker is alive
            self.next_beat = now + BEAT_INTERVAL
        paused = now < self.accept_paused_until
        # Accept only while a pool thread waits for work. When every thread
        # is busy, each accepts the next connection itself as it comes free
        # (next_work); the loop taking it instead would only make the request
        # cross from this thread to a pool thread. Decided under the lock that
        # next_work takes to count a thread idle, so that a thread coming free
        # either is counted here or sees the "no" and wakes us: never neither.
        with self.count_lock:
            self.accept_wanted = (self.alive and not paused and self.idle_threads > 0
                                  and len(self.clients) < self.cfg.worker_connections)
            accepting = self.accept_wanted
        self.set_accepting(accepting)
        next_deadline = self.close_expired()
        if paused:
            next_deadline = min(next_deadline, self.accept_paused_until)
        timeout = min(next_deadline, until, now + TICK) - time.monotonic()
        for key, _ in self.selector.select(max(timeout, 0)):
            key.data()  # what to do when this fd is readable, set when it was registered
        self.take_back_returned()

    def finish_in_flight(self) -> None:
        """After TERM or max_requests: stop accepting, drop idle connections,
        and wait for requests in threads until just before graceful_timeout."""
        self.set_accepting(False)
        for client in [c for c in self.all_clients() if c.phase is Phase.READING]:
            self.close(client)
        deadline = time.monotonic() + max(self.cfg.graceful_timeout - GRACE_MARGIN, 0)
        while self.clients and time.monotonic() < deadline:
            self.run_once(until=deadline)

    def shut_down(self) -> None:
        """Close what the main loop owns; wait for the pool only if no thread is busy.

        After QUIT or an expired graceful_timeout, threads may still be in the
        app: nothing can stop a thread, so we leave without them and the
        process's exit ends them.
        """
        self.take_back_returned()
        busy = [client for client in self.all_clients() if client.phase is Phase.SERVING]
        for client in self.all_clients():
            if client.phase is not Phase.SERVING:
                self.close(client)
        if busy:
            self.log.warning("Exiting with %d request(s) still running", len(busy))
        self.stop_pool(wait=not busy)
        self.selector.close()

    # -- the pool ------------------------------------------------------------

    def start_pool(self) -> None:
        """Start ``cfg.threads`` threads that take work from one queue.

        A pool is no more than this: a queue, and threads that loop over it.
        concurrent.futures.ThreadPoolExecutor would do the same job, but
        each submit() also makes a Future that nobody here reads, takes a
        lock and checks whether to start a thread: in a profile with
        ``Connection: close`` clients, a new connection per request, that
        was a cost paid for every request.
        """
        for number in range(self.cfg.threads):
            thread = threading.Thread(target=self.pool_thread, name=f"unicorn-thread-{number}",
                                      daemon=True)  # a thread stuck in the app cannot keep us alive
            thread.start()
            self.pool.append(thread)

    def pool_thread(self) -> None:
        """One thread of the pool: serve connections until the queue says stop (None)."""
        closed = False  # did the last connection this thread served end?
        while (work := self.next_work(after_close=closed)) is not None:
            closed = not self.serve(*work)

    def next_work(self, after_close: bool) -> tuple[Client, Request] | None:
        """What this thread serves next: queued work first; after a connection
        that ended, a new connection the thread accepts itself; else wait.

        Why a thread accepts: a client that closes after its request is
        usually followed by a new connection, and when each came in through
        the main thread, every one of them crossed from the main thread to a
        pool thread. In a profile, that made the main thread the bottleneck:
        each of its system calls (accept, recv) had to wait for the GIL
        behind the pool threads, about 20 µs a time. A thread with nothing
        queued is free anyway, so it takes the next connection and serves it
        without the crossing: behind nginx, 1.3x the requests for 30% less
        CPU time each (bench/README.md). Only a free thread accepts, so a
        worker takes no more than it can start on. After a kept connection
        the thread does not try: the next request is likely on a connection
        the worker holds already, and the accept would only fail. A thread
        about to wait counts itself idle, and wakes the main loop if it had
        stopped accepting for want of one (run_once).
        """
        try:
            return self.work.get_nowait()
        except queue.Empty:
            pass
        if after_close and (work := self.accept_in_thread()) is not None:
            return work
        with self.count_lock:
            self.idle_threads += 1
            wake = not self.accept_wanted
        if wake:
            self.wake_main_loop()  # a thread is free: the main loop may accept again
        try:
            return self.work.get()
        finally:
            with self.count_lock:
                self.idle_threads -= 1

    def stop_pool(self, wait: bool) -> None:
        """Tell every thread to stop once the work before it is done; wait if asked to."""
        for _ in self.pool:
            self.work.put(None)
        if wait:
            for thread in self.pool:
                thread.join()

    # -- accepting ------------------------------------------------------------

    def set_accepting(self, accepting: bool) -> None:
        """Watch the listeners or not. While we do not, new clients wait in the
        kernel's backlog, where another worker may take them."""
        if accepting == self.accepting:
            return
        for listener in self.listeners:
            if accepting:
                listener.sock.setblocking(False)
                self.selector.register(listener.sock, selectors.EVENT_READ,
                                       partial(self.accept, listener))
            else:
                self.selector.unregister(listener.sock)
        self.accepting = accepting
        if not accepting and self.alive:
            self.log.explain(
                f"Worker {self.pid} holds worker_connections={self.cfg.worker_connections} "
                "connections: it stops accepting, and new clients wait in the kernel's backlog.",
                "Threads and keep-alive",
            )

    def accept(self, listener: Listener) -> None:
        """Take one waiting connection, then go back to the selector.

        One at a time on purpose: every worker is woken by a new connection,
        and a worker that took them all in a loop would serve a burst of
        clients alone while its siblings idle. Taking one lets the others
        take the next, so the kernel's wake-ups spread the load.
        """
        if len(self.clients) >= self.cfg.worker_connections:
            return
        try:
            sock, address = listener.sock.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return  # another worker was faster, or the client gave up in the backlog
        except OSError as error:  # EMFILE and friends: too many open files
            self.log.error("Cannot accept a connection: %s", error)
            return
        # TLS: the handshake is done later, in read_head's non-blocking recvs (see there).
        sock = self.secure(sock, handshake_now=False)
        if sock is None:
            return
        client = self.new_client(sock, address, listener, Phase.READING)
        # For speed: a client connects to send a request, and by the time we
        # accept, its head has usually arrived. Reading it now, before the
        # socket enters the selector, sends it to a thread without a turn of
        # the loop and without registering and unregistering it; only a head
        # that is not complete yet makes the connection wait in the selector.
        if self.read_head(client):
            self.watch(client, self.read_head)
        if self.claimed_threads() >= self.cfg.threads:
            # Every thread may be busy: give a sibling with free threads the
            # next connection. Keep-alive connections stay where they land, so
            # a burst collected by whichever worker woke first would otherwise
            # be served by that worker alone for as long as it lasts. The pause
            # ends early when a thread comes back (take_back_returned): it only
            # leaves to others what we could not start on anyway. Meanwhile a
            # thread that finishes a connection accepts the next itself
            # (next_work), so the loop need not be woken for that.
            self.accept_paused_until = time.monotonic() + ACCEPT_PAUSE

    def new_client(self, sock: socket.socket, address, listener: Listener,
                   phase: Phase) -> Client:
        """Wrap a socket just accepted, make it non-blocking, and count it among the clients."""
        conn = Connection(sock, address, listener.name, self.limits, self.cfg.timeout or None)
        client = Client(conn, phase=phase, since=time.monotonic())
        with self.clients_lock:
            self.clients.add(client)
        sock.setblocking(False)
        return client

    def all_clients(self) -> list[Client]:
        """A copy of ``clients`` to loop over: a pool thread may add one meanwhile."""
        with self.clients_lock:
            return list(self.clients)

    def forget(self, client: Client) -> None:
        with self.clients_lock:
            self.clients.discard(client)

    def claimed_threads(self) -> int:
        """How many threads our connections hold, or are about to ask for.

        A connection in a thread holds one. A new connection, not yet through
        its first request, is about to ask for one: its client connected to
        send a request. An idle keep-alive connection and a closing one hold
        none, so they do not count. Counting every open connection, as
        len(self.clients) does, paused this worker before nearly every accept
        when clients send ``Connection: close``: each closing connection
        lingers a moment waiting for the client's FIN, and the worker served a
        fifth of what its threads could.
        """
        return sum(1 for client in self.all_clients()
                   if client.phase is Phase.SERVING
                   or (client.phase is Phase.READING and not client.keep_alive))

    # -- reading request heads, in the main thread -----------------------------

    def wait_for_request(self, client: Client, keep_alive: bool) -> None:
        """Park a connection in the selector until a whole request head is in."""
        client.phase, client.since, client.keep_alive = Phase.READING, time.monotonic(), keep_alive
        if self.tls_context is not None:
            client.conn.sock.setblocking(False)  # serve() made it block
        self.watch(client, self.read_head)

    def watch(self, client: Client, callback) -> None:
        """Register the socket: the main loop calls ``callback(client)`` when it is readable."""
        self.selector.register(client.conn.sock, selectors.EVENT_READ, partial(callback, client))
        client.watched = True

    def unwatch(self, client: Client) -> None:
        if client.watched:
            self.selector.unregister(client.conn.sock)
            client.watched = False

    def read_head(self, client: Client) -> bool:
        """Feed the parser what arrived; a complete head sends the connection to a thread.

        Returns True while the connection waits for more of its head (accept
        uses the answer; as a selector callback it is ignored).

        With TLS, the first recvs also do the handshake, a piece per wake-up,
        here in the main loop rather than in a thread: a client that is slow
        to finish its handshake then costs a buffer, as a slow head does, and
        never holds a thread. The price is the handshake's arithmetic, about
        a millisecond of CPU, done in the main thread.
        """
        conn = client.conn
        try:
            data = conn.sock.recv(RECEIVE_SIZE)
        except tls.WOULD_BLOCK:
            return True  # nothing to read after all, or (TLS) only part of a record or handshake
        except OSError:
            self.close(client)  # reset by the peer, or (TLS) a failed handshake
            return False
        conn.parser.feed(data)  # b"" tells the parser the peer closed
        try:
            event = conn.parser.next_event()
        except errors.HTTPError as error:
            # The socket is non-blocking here, so the main loop cannot get stuck
            # sending: a short error response fits in the kernel's buffer, and
            # if it does not, reject() gives up rather than wait.
            self.reject(conn, error)
            self.close_gently(client)
            return False
        if event is NEED_DATA:
            return True
        if event is CLOSED:
            self.close(client)
        else:
            self.unwatch(client)
            client.phase = Phase.SERVING
            self.work.put((client, event))  # the first free pool thread takes it
        return False

    # -- answering, in a pool thread ---------------------------------------------

    def accept_in_thread(self) -> tuple[Client, Request] | None:
        """Accept a waiting connection in this pool thread; return it if its head is in.

        accept() and read_head() in one, for a plain socket (a TLS handshake
        stays in the main loop, see read_head). A head that is not complete
        yet goes to the main loop to wait for the rest, so a slow client still
        costs no thread.
        """
        if (not self.alive or self.tls_context is not None
                or len(self.clients) >= self.cfg.worker_connections):
            return None
        for listener in self.listeners:
            try:
                sock, address = listener.sock.accept()
            except OSError:
                continue  # none waiting, another worker was faster; EMFILE: accept() logs it
            client = self.new_client(sock, address, listener, Phase.SERVING)
            conn = client.conn
            try:
                conn.parser.feed(conn.sock.recv(RECEIVE_SIZE))
                event = conn.parser.next_event()
            except BlockingIOError:
                event = NEED_DATA  # nothing has arrived yet
            except errors.HTTPError as error:
                self.reject(conn, error)
                self.hand_back(client, keep_alive=False)
                return None
            except OSError:
                self.hand_back(client, keep_alive=False)  # reset by the peer
                return None
            if isinstance(event, Request):
                return client, event
            # Part of a head, or none (CLOSED too: the main loop closes it).
            client.phase = Phase.READING
            self.returned.put((client, False, False))
            self.wake_main_loop()
        return None

    def serve(self, client: Client, request: Request) -> bool:
        """Answer ``request`` and every request pipelined behind it, then hand back;
        return whether the connection was kept alive.

        Runs in a pool thread. Blocking reads are simple, and the timeout
        keeps them bounded: a client silent for ``timeout`` seconds in the
        middle of its body raises in ``wsgi.input.read`` and is let go.
        """
        conn = client.conn
        keep_alive = False
        try:
            if self.tls_context is not None:
                # A TLS socket blocks here, with the timeout as its limit: a
                # non-blocking one may want to read in the middle of a write,
                # which Connection.wait does not follow. A plain one stays
                # non-blocking, and Connection waits at most cfg.timeout.
                conn.sock.settimeout(self.cfg.timeout or None)
            while request is not None:
                keep_alive = self.handle_request(conn, request)
                request = self.buffered_request(conn) if keep_alive else None
        except errors.HTTPError as error:  # the pipelined head was malformed
            self.reject(conn, error)
            keep_alive = False
        except BaseException:
            # An Exception, or an app's sys.exit(), which handle_request lets
            # through (in a sync worker, it ends the process, which the arbiter
            # replaces). Here it would end this thread, and the pool would
            # be one thread smaller for the rest of the worker's life.
            self.log.exception("Error serving %s", conn.client)
            keep_alive = False
        finally:
            self.hand_back(client, keep_alive)
        return keep_alive

    @staticmethod
    def buffered_request(conn: Connection) -> Request | None:
        """The next request if its whole head is already in the parser's buffer.

        Pipelined requests are answered here, in order, by the same thread.
        On NEED_DATA a partial head stays in the parser, and the main loop
        completes it from the socket.
        """
        event = conn.parser.next_event()
        return event if isinstance(event, Request) else None

    def hand_back(self, client: Client, keep_alive: bool) -> None:
        """Give the connection back to the main thread, and wake its select() if need be.

        For speed, a connection with nothing left to do is closed here, in
        this thread: not kept alive, and every byte of its request read
        (``Connection.fully_read``), so close() cannot make the kernel send
        RST over the response, and no gentle close is needed. The main loop
        then has only to forget it, and that can wait for its next turn: with
        ``Connection: close`` clients, the next accept comes soon anyway,
        and this thread itself tries to accept the next (next_work). Writing
        to the pipe for each of them cost a system call, a wake-up and a turn
        of the loop per connection. The loop is woken when the worker is
        stopping (it waits for its connections to end), or when the
        connection must go back to the selector or be closed gently.
        """
        closed = not keep_alive and client.conn.can_close_at_once()
        if closed:
            client.conn.close()
        self.returned.put((client, keep_alive, closed))
        if closed and self.alive:
            return  # the main loop's next turn forgets it; this thread accepts next (next_work)
        self.wake_main_loop()

    def wake_main_loop(self) -> None:
        """Make the main thread's select() return: a byte in the wake-up pipe."""
        try:
            os.write(self.wakeup_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full, so the main loop is being woken anyway

    # -- back in the main thread --------------------------------------------------

    def take_back_returned(self) -> None:
        """Keep-alive connections wait for their next request, and so do new ones
        a thread accepted before their head was in (accept_in_thread); the rest
        are closed, gently when the client may still be sending, or only
        forgotten when their thread closed them (see hand_back)."""
        while True:
            try:
                client, keep_alive, closed = self.returned.get_nowait()
            except queue.Empty:
                return
            self.accept_paused_until = 0.0  # a thread is free: accept again (see accept)
            if closed:
                self.forget(client)
            elif client.phase is Phase.READING and self.alive:
                self.watch(client, self.read_head)
            elif keep_alive and self.alive:  # the worker may have begun to stop meanwhile
                self.wait_for_request(client, keep_alive=True)
            elif client.conn.can_close_at_once():
                # Every byte of the request was read, so close() cannot make
                # the kernel send RST over our response: close at once, as the
                # sync worker does, and spare a turn of the loop per client.
                self.close(client)
            else:
                self.close_gently(client)

    def deadline(self, client: Client) -> float:
        """When the main loop closes this connection if nothing completes first.

        An idle keep-alive connection gets ``keepalive`` seconds. A new one,
        or one holding part of a head, gets ``timeout`` seconds in total, not
        per byte, so trickling one byte a second does not keep it open.
        ``timeout = 0`` turns that limit off, as it turns off the heartbeat check.
        """
        if client.phase is Phase.SERVING:
            return math.inf  # the socket timeout bounds it, in the thread
        if client.phase is Phase.CLOSING:
            return client.since + LINGER
        if client.keep_alive and client.conn.parser.between_requests:
            return client.since + self.cfg.keepalive
        return client.since + (self.cfg.timeout or math.inf)

    def close_expired(self) -> float:
        """Close connections past their deadline; return the next deadline."""
        now = time.monotonic()
        next_deadline = math.inf
        for client in self.all_clients():
            deadline = self.deadline(client)
            if deadline > now:
                next_deadline = min(next_deadline, deadline)
            elif client.phase is Phase.READING and not client.conn.parser.between_requests:
                self.log.explain(
                    f"{client.conn.client} sent only part of a request head in "
                    f"{self.cfg.timeout}s: answered 408 and closed, without using a thread.",
                    "Threads and keep-alive",
                )
                self.reject(client.conn, errors.RequestTimeout("request head not received in time"))
                self.close_gently(client)
                next_deadline = min(next_deadline, self.deadline(client))
            else:
                self.close(client)  # idle: nothing to say, nothing to wait for
        return next_deadline

    def close_gently(self, client: Client) -> None:
        """Connection.close_gently (see there for why), done without blocking:
        shut our side, then let the selector discard what the client still
        sends until its FIN, or LINGER seconds. The waiting costs no thread.
        """
        sock = client.conn.sock
        self.unwatch(client)
        tls.close_notify(sock)  # first: shutdown() drops the TLS layer
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close(client)  # the client is gone already
            return
        client.phase, client.since = Phase.CLOSING, time.monotonic()
        self.watch(client, self.discard_until_closed)

    def discard_until_closed(self, client: Client) -> None:
        try:
            data = client.conn.sock.recv(RECEIVE_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close(client)

    def close(self, client: Client) -> None:
        """Forget a connection and close its socket, at once."""
        # unwatch() asks the flag, never the selector, for speed: unregister()
        # of a socket it does not hold raises a KeyError whose message holds
        # the socket's repr, which costs more than the rest of close().
        self.unwatch(client)
        self.forget(client)
        client.conn.close()
