"""What every worker process does, whatever its model of concurrency.

The arbiter builds a Worker, forks, and the child calls ``start()``: it
installs its own signal handlers, loads the app, then runs the subclass's
``run()`` loop. Every request then takes the same path through the code;
start reading here. By function name:

1. accept: ``SyncWorker.accept`` / ``ThreadWorker.accept`` take a connection
   from a ``Listener`` and wrap it in a ``Connection`` (first in TLS, with
   --certfile: ``Worker.secure``).
2. read the request: ``Connection.read_request`` (sync) or
   ``ThreadWorker.read_head`` (gthread) feed bytes to ``RequestParser.feed``.
3. parser events: ``RequestParser.next_event`` gives ``Request``, ``Data``,
   ``EndOfMessage``, or the sentinels ``NEED_DATA`` and ``CLOSED``.
4. framing fields: ``framing.read_framing_fields`` reads Host,
   Content-Length, Transfer-Encoding, Connection and Expect into the Request.
5. handle the request: ``Worker.handle_request``.
6. environ, body, response: ``Worker.prepare`` builds them with
   ``environ.build_environ``, ``body.Body`` and ``response.Response``.
7. app: ``response.run_app`` calls it with ``Response.start_response``.
8. write head and body: ``Response.send_iterable`` -> ``write`` ->
   ``choose_framing`` and ``_head``, then ``finish``.
9. drain: ``Body.drain`` reads what the app left of the request's body.
10. close or keep alive: ``Response.keep_alive`` and ``Worker.offers_keep_alive``
    decide; sync closes (``Connection.close``/``close_gently``), gthread
    ``hand_back``s the connection to its main loop to wait for the next, and
    gevent's ``serve`` loops in the same green thread.

Explained in the chapter "The sync worker".
gunicorn: gunicorn/workers/base.py.
Left out: the PROXY protocol.
"""

import abc
import fcntl
import os
import pwd
import random
import select
import signal
import socket
import ssl
import struct
import sys
import termios
import time
from collections.abc import Callable

from unicorn import tls
from unicorn.app import (
    APP_LOAD_ERROR,
    WORKER_BOOT_ERROR,
    AppImportError,
    app_traceback,
    load_app,
)
from unicorn.heartbeat import Heartbeat
from unicorn.http import errors
from unicorn.http.body import Body, SpooledBody
from unicorn.http.environ import build_environ, forwarded_scheme
from unicorn.http.parser import CLOSED, NEED_DATA, EndOfMessage, Limits, Request, RequestParser
from unicorn.http.response import Response, error_response, run_app
from unicorn.process import set_process_title
from unicorn.reloader import Reloader
from unicorn.sockets import Listener
from unicorn.statsd import Statsd

# A response that leaves more than this in the kernel's send queue is closed
# gently even when its request was read to the end (Connection.can_close_at_once).
UNSENT_LIMIT = 64 * 1024

# The exceptions that mean "the client went away", not "the server broke".
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class WorkerTimeout(BaseException):
    """Raised in a worker by SIGABRT: the arbiter saw no heartbeat for ``timeout``.

    A BaseException, so an application's ``except Exception`` cannot swallow it.
    """


class Connection:
    """One accepted client socket, with the parser that reads it.

    The socket is non-blocking (or, with TLS or gevent, blocks by itself):
    ``receive``, ``send`` and ``send_file`` try first, and only when the
    kernel has nothing to give or no room to take do they wait, in poll(),
    at most ``timeout`` seconds. That is what sock.settimeout() does too,
    except that Python then calls poll() *before* every recv and send,
    ready or not: a second system call each time, which cost a fifth of
    the CPU of a 10 MiB streamed response (bench/README.md).
    """

    def __init__(self, sock: socket.socket, client, server, limits: Limits,
                 timeout: float | None = None) -> None:
        self.sock = sock
        self.client = client  # (host, port), or "" for a unix socket peer
        self.server = server  # our address: (host, port), or the unix socket's path
        self.parser = RequestParser(limits)
        self.timeout = timeout  # the longest one read or write waits for the client; None: no limit
        self.bytes_sent = 0  # by send and send_file, over the connection's life

    def receive(self) -> bytes:
        """The next bytes from the client; b"" when it has closed its side."""
        while True:
            try:
                return self.sock.recv(65536)
            except BlockingIOError:
                self.wait(select.POLLIN)

    def send(self, data: bytes) -> None:
        """Send all of ``data``, however many calls the kernel takes it in."""
        view, sent = memoryview(data), 0
        while sent < len(data):
            try:
                sent += self.sock.send(view[sent:])
            except BlockingIOError:
                self.wait(select.POLLOUT)
        self.bytes_sent += sent

    def send_file(self, file, offset: int, count: int) -> None:
        """sendfile(2): the kernel copies ``count`` bytes of ``file``, from
        ``offset``, straight to the socket, never through Python.

        Leaves the file's position after the last byte sent, even when the
        client went away, so the access log can say how much it got.
        """
        try:
            while count > 0:
                try:
                    sent = os.sendfile(self.sock.fileno(), file.fileno(), offset, count)
                except BlockingIOError:
                    self.wait(select.POLLOUT)
                    continue
                if sent == 0:
                    break  # the file is shorter than it said
                offset, count = offset + sent, count - sent
                self.bytes_sent += sent
        finally:
            file.seek(offset)

    def wait(self, event: int) -> None:
        """Wait until the socket is ready for ``event``; TimeoutError after ``timeout`` seconds."""
        poller = select.poll()  # not select(): it cannot watch a file descriptor above 1023
        poller.register(self.sock, event)
        if not poller.poll(None if self.timeout is None else self.timeout * 1000):
            what = "sent" if event == select.POLLIN else "read"
            raise TimeoutError(f"the client {what} nothing for {self.timeout} seconds")

    def read_request(self) -> Request | None:
        """Block until a whole request head arrives; None if the peer closed first."""
        while True:
            event = self.parser.next_event()
            if event is NEED_DATA:
                self.parser.feed(self.receive())
            elif event is CLOSED:
                return None
            else:
                return event

    def fully_read(self) -> bool:
        """Has the client's request been read to its end, with nothing after it?

        Asks only the parser, never the socket. A request without a body
        still has its EndOfMessage to collect when the app is done (the
        worker reads it only to keep the connection alive), so collect it
        here: then a ``Connection: close`` GET is closed at once, not gently.
        """
        if self.parser.between_requests:
            return True
        try:
            event = self.parser.next_event()
        except errors.HTTPError:
            return False
        return isinstance(event, EndOfMessage) and self.parser.between_requests

    def can_close_at_once(self) -> bool:
        """May the socket simply be closed, or must it be closed gently?

        At once only when the request was read to its end (``fully_read``),
        else the kernel answers close() with RST; and only when the kernel has
        sent nearly all of our response. close() does not wait for the send
        queue: a socket closed with megabytes still in it lives on in the
        kernel, orphaned, while the worker takes the next connection, and on
        loopback that made 10 MiB responses about a tenth slower than waiting
        for the client's FIN, as close_gently does (bench/README.md).
        A connection that sent less than UNSENT_LIMIT in all cannot have more
        queued, so the kernel is asked only after large responses.
        """
        if not self.fully_read():
            return False
        return self.bytes_sent <= UNSENT_LIMIT or unsent_bytes(self.sock) <= UNSENT_LIMIT

    def close(self) -> None:
        tls.close_notify(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass

    def close_gently(self, linger: float = 1.0) -> None:
        """Shut our side, discard what the client still sends, then close (RFC 9112 §9.6).

        close() with unread bytes in the kernel's receive buffer makes the
        kernel answer with RST, which can destroy the end of our response
        before the client reads it. After shutdown(SHUT_WR) the client gets
        all of it, then end-of-file; we wait at most ``linger`` seconds for it
        to close its side.
        """
        tls.close_notify(self.sock)  # first: shutdown() drops the TLS layer
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(linger)
            deadline = time.monotonic() + linger
            while self.sock.recv(65536) and time.monotonic() < deadline:
                pass
        except OSError:
            pass
        self.close()


def unsent_bytes(sock: socket.socket) -> int:
    """How many bytes the kernel still holds in ``sock``'s send queue.

    Linux's SIOCOUTQ (the same number as TIOCOUTQ) counts what is sent but
    not yet acknowledged, and what is not sent yet. Where the ioctl is not
    known, say 0: the socket is then closed at once, as before.
    """
    try:
        answer = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, bytes(4))
    except OSError:
        return 0
    return struct.unpack("i", answer)[0]


class Worker(abc.ABC):
    """A worker process. Built in the arbiter; everything after ``start`` runs in the child."""

    # Class attributes a subclass sets to describe itself:
    multithread = False  # wsgi.multithread
    keeps_connections = False  # can a connection carry several requests? (offers_keep_alive)

    def __init__(self, age: int, ppid: int, listeners: list[Listener], app, cfg, log) -> None:
        self.age = age  # spawn order: the arbiter stops the oldest first
        self.ppid = ppid  # the arbiter's pid; if our parent changes, it died
        self.listeners = listeners
        self.app = app  # the WSGI app when preloaded in the arbiter, else None until boot
        self.cfg = cfg
        self.log = log
        self.pid: int | None = None
        self.alive = True
        self.booted = False
        self.aborted = False  # set by the arbiter once it sent SIGABRT
        self.killed_by_master = False  # the arbiter sent SIGKILL itself: no OOM killer to blame
        self.requests_handled = 0
        self.max_requests = self._request_budget(cfg.max_requests, cfg.max_requests_jitter)
        self.limits = Limits.from_settings(
            cfg.limit_request_line, cfg.limit_request_fields, cfg.limit_request_field_size
        )
        # Created before fork so that both processes share the file.
        self.heartbeat = Heartbeat(cfg.worker_tmp_dir, cfg.user, cfg.group)
        # Set in the child by init_process:
        self.wakeup_r = self.wakeup_w = -1  # the pipe any signal writes to, waking run()
        self.script_name = ""  # where the app is mounted (--env SCRIPT_NAME=/app)
        self.tls_context: ssl.SSLContext | None = None  # with --certfile (see secure)
        self.statsd = Statsd()  # sends nothing until init_process opens the worker's own

    @staticmethod
    def _request_budget(max_requests: int, jitter: int) -> int:
        """Jitter keeps workers started together from all restarting together."""
        if max_requests <= 0:
            return sys.maxsize
        return max_requests + random.randint(0, max(jitter, 0))

    def __str__(self) -> str:
        return f"<Worker {self.pid}>"

    # -- life of the child process --------------------------------------

    def start(self) -> int:
        """Run the worker to its end in the forked child and return its exit status."""
        try:
            self.init_process()
            self.run()
            return 0
        except SystemExit as exit_:
            if exit_.code is None:
                return 0
            return exit_.code if isinstance(exit_.code, int) else 1
        except AppImportError as error:
            if app_traceback(error):
                self.log.error("%s", app_traceback(error))
            self.log.error("%s", error)  # the summary last, where the eye lands
            return APP_LOAD_ERROR
        except Exception:
            self.log.exception("Exception in worker process")
            return 1 if self.booted else WORKER_BOOT_ERROR

    def init_process(self) -> None:
        """Prepare the child: signals, environment, privileges, the app; in that order."""
        random.seed()  # the child inherited the parent's random state
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(self.wakeup_w, False)
        self.init_signals()
        # The arbiter forked us with its signals blocked; with our handlers in
        # place, let them in (any that arrived meanwhile is delivered now).
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        set_process_title(f"unicorn: worker [{self.cfg.proc_name or self.cfg.app_uri}]")
        self.script_name = os.environ.get("SCRIPT_NAME", "")  # read once, not per request
        if tls.enabled(self.cfg):
            # Before drop_privileges: a private key is usually readable by root only.
            self.tls_context = tls.make_context(self.cfg)
        self.statsd = Statsd(self.cfg.statsd_host, self.cfg.statsd_prefix)
        self.drop_privileges()
        if self.app is None:
            self.app = load_app(self.cfg.app_uri)
        if self.cfg.reload:
            # Started after the app is imported, so its modules are among those watched.
            Reloader(self.reload_changed, self.cfg.reload_extra_files).start()
        self.cfg.post_worker_init(self)
        self.booted = True
        self.log.explain(
            f"Worker {self.pid} booted and is waiting for connections on the shared listeners.",
            "The pre-fork model",
        )

    def init_signals(self) -> None:
        """The worker's own handlers replace the arbiter's, inherited through fork.

        The wake-up fd makes any signal interrupt the select() in ``run``, so a
        TERM is noticed at once instead of at the next timeout.
        """
        signal.set_wakeup_fd(self.wakeup_w)
        signal.signal(signal.SIGTERM, self.handle_exit)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGINT, self.handle_quit)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.signal(signal.SIGABRT, self.handle_abort)
        for signum in (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGUSR2,
                       signal.SIGWINCH):
            signal.signal(signum, signal.SIG_IGN)  # meant for the arbiter only
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)

    def drop_privileges(self) -> None:
        """Workers run as ``user``/``group``; the arbiter keeps its rights to bind.

        A process has a user, a group and a list of supplementary groups, and setuid and
        setgid change only the first two: a worker forked from root would keep root's
        supplementary groups, and whatever they may read. So the list is emptied (or, with
        ``initgroups``, set to the user's own) first, while we are still allowed to, and
        setuid comes last: after it, none of the other calls would be permitted.
        """
        if self.cfg.user is None and self.cfg.group is None:
            return
        if os.geteuid() == 0:
            if self.cfg.initgroups and self.cfg.user is not None:
                gid = self.cfg.group if self.cfg.group is not None else os.getegid()
                os.initgroups(pwd.getpwuid(self.cfg.user).pw_name, gid)
            else:
                os.setgroups([])
        if self.cfg.group is not None:
            os.setgid(self.cfg.group)
        if self.cfg.user is not None:
            os.setuid(self.cfg.user)

    @abc.abstractmethod
    def run(self) -> None:
        """Accept and serve connections until ``self.alive`` turns False.

        Override in a subclass (required): this is the worker's model of
        concurrency. Beat ``self.heartbeat`` at least twice per ``timeout``.
        """

    # -- signals --------------------------------------------------------

    def handle_exit(self, signum, frame) -> None:
        """TERM: finish the request in hand, then leave the loop."""
        self.alive = False

    def handle_quit(self, signum, frame) -> None:
        """QUIT, INT: leave now."""
        self.alive = False
        self.cfg.worker_int(self)
        sys.exit(0)

    def handle_usr1(self, signum, frame) -> None:
        self.log.reopen_files()

    def handle_abort(self, signum, frame) -> None:
        """SIGABRT from the arbiter: this worker missed its heartbeat."""
        self.alive = False
        self.cfg.worker_abort(self)
        raise WorkerTimeout()

    # -- helpers for run() ----------------------------------------------

    def reload_changed(self, path: str) -> None:
        """--reload: a source file changed; exit, and the arbiter forks a fresh worker."""
        self.log.info("Worker reloading: %s modified", path)
        self.log.explain(
            f"{path} changed: worker {self.pid} exits so that a new one imports the new code.",
            "Reloads and upgrades",
        )
        self.alive = False
        os.write(self.wakeup_w, b"R")  # wake the main loop from its select()

    def drain_wakeup(self) -> None:
        """Empty the wake-up pipe; what matters is that a signal arrived, not which."""
        try:
            while os.read(self.wakeup_r, 256):
                pass
        except BlockingIOError:
            pass

    def parent_changed(self) -> bool:
        if os.getppid() != self.ppid:
            self.log.info("Parent changed, shutting down: %s", self)
            return True
        return False

    def count_request(self) -> None:
        """Count a request; the last one of ``max_requests`` makes the worker leave.

        Override in a subclass: when several threads count at once (gthread
        adds a lock).
        """
        self.requests_handled += 1
        if self.requests_handled >= self.max_requests:
            self.log.info("Autorestarting worker after current request.")
            self.log.explain(
                f"Worker {self.pid} served its max_requests and will exit; "
                "the arbiter forks a fresh one.",
                "The sync worker",
            )
            self.alive = False

    def secure(self, sock: socket.socket, handshake_now: bool) -> socket.socket | None:
        """With --certfile, wrap an accepted socket in TLS (see unicorn.tls).

        Returns the socket to use, or None when a handshake done now failed
        (a client speaking plain HTTP, or without the certificate we require).
        """
        if self.tls_context is None:
            return sock
        try:
            return tls.wrap(self.tls_context, sock, handshake_now)
        except OSError as error:  # ssl.SSLError is an OSError; the socket is closed
            self.log.debug("TLS handshake failed: %s", error)
            return None

    def reject(self, conn: Connection, error: errors.HTTPError) -> None:
        """Answer a request the parser refused, then close: nothing after it is trusted."""
        self.log.debug("Invalid request from %s: %s", conn.client, error)
        send_error(conn, error.status, error.reason, str(error))

    # -- one request ----------------------------------------------------

    def offers_keep_alive(self) -> bool:
        """Does the worker offer to keep this connection open after the response?

        Only a worker class that can wait on idle connections does (gthread,
        not sync), only with a ``keepalive`` setting above 0, and only while
        the worker is not stopping. Response.keep_alive adds the other rules.
        """
        return self.keeps_connections and self.cfg.keepalive > 0 and self.alive

    def handle_request(self, conn: Connection, request: Request) -> bool:
        """Serve one request; return True if the connection may carry another."""
        self.count_request()
        response = body = None
        environ = {}
        start = time.monotonic()
        try:
            environ, response, body = self.prepare(conn, request)
            self.cfg.pre_request(self, request)
            run_app(self.app, environ, response)
            # After the keep-alive rules (see Response.keep_alive), skip what the
            # app left of the request's body, so the next request's bytes come
            # next; rule 6 already said, in the head, that this will succeed.
            # Our Body, not environ["wsgi.input"]: middleware may have replaced that.
            return response.keep_alive and body.drain()
        except CLIENT_GONE as error:
            self.log.debug("Client %s went away: %r", conn.client, error)
            return False
        except errors.HTTPError as error:  # a malformed body, found by the app or by drain()
            if response is None or not response.headers_sent:
                self.reject(conn, error)
            return False
        except WorkerTimeout:
            self.log.error("Worker timed out while handling %s", request.target)
            self.answer_500(conn, response)
            raise
        except Exception:
            self.log.exception("Error handling request %s", request.target)
            self.answer_500(conn, response)
            return False
        finally:
            self.after_request(request, environ, response, time.monotonic() - start)
            if body is not None:
                body.close()  # a spooled chunked body frees its memory or temporary file

    def prepare(self, conn: Connection, request: Request
                ) -> tuple[dict, Response, Body | SpooledBody]:
        """Build the environ, the response writer and the body reader for one request.

        Override in a subclass: to add environ keys or wrap the body or the response.
        """
        # Before the body is read: a request with contradictory scheme headers is refused.
        scheme = self.url_scheme(conn, request)
        response = Response(request, conn.send, self.sendfile_for(conn),
                            self.offers_keep_alive())
        body = self.body_for(conn, request, response)
        response.request_body = body  # so the head can say whether drain() will succeed
        environ = build_environ(
            request,
            body,
            conn.server,
            conn.client,
            errors=sys.stderr,
            multithread=self.multithread,
            url_scheme=scheme,
            script_name=self.script_name,
        )
        return environ, response, body

    def url_scheme(self, conn: Connection, request: Request) -> str:
        """"https" when we speak TLS ourselves; else what a trusted proxy says."""
        if self.tls_context is not None:
            return "https"
        return forwarded_scheme(request, conn.client, self.cfg.forwarded_allow_ips,
                                self.cfg.secure_scheme_headers)

    def body_for(self, conn: Connection, request: Request,
                 response: Response) -> Body | SpooledBody:
        """``wsgi.input``: read from the socket as the app asks, or, if chunked, read first.

        ``limit_request_body`` refuses a Content-Length over it before the app
        runs, and the client is never asked to send the body; SpooledBody
        applies the same limit to a chunked body as it reads it.
        Override in a subclass: to keep chunked bodies streaming, say.
        """
        limit = self.cfg.limit_request_body
        if limit and request.content_length is not None and request.content_length > limit:
            raise errors.ContentTooLarge(f"Content-Length {request.content_length} is over {limit}")
        before_first_read = self.continue_callback(request, response, conn.send)
        body = Body(conn.parser, conn.receive, before_first_read, request.content_length)
        return SpooledBody(body, limit) if request.chunked else body

    def sendfile_for(self, conn: Connection) -> Callable | None:
        """How the response sends a file without copying it, or None to copy it.

        Not with TLS: sendfile(2) would send the file's bytes as they are on
        disk, unencrypted. Override in a subclass: when its sockets cannot use it.
        """
        if not self.cfg.sendfile or self.tls_context is not None:
            return None
        return conn.send_file

    @staticmethod
    def continue_callback(request: Request, response: Response,
                          send: Callable[[bytes], None]) -> Callable[[], None] | None:
        """Send ``100 Continue`` when the app first reads a body the client holds back.

        Waiting for the first read, rather than answering at once, lets an app
        refuse an upload (say with 413) before the client sends any of it.
        """
        if not request.expect_continue or request.content_length == 0:
            return None

        def send_continue() -> None:
            if not response.headers_sent:
                send(b"HTTP/1.1 100 Continue\r\n\r\n")

        return send_continue

    def answer_500(self, conn: Connection, response: Response | None) -> None:
        """A 500 is possible only while no byte of the response has been sent.

        Override in a subclass: to send a different error page.
        """
        if response is not None and response.headers_sent:
            return
        send_error(conn, 500, "Internal Server Error")
        if response is not None:
            # The access log (after_request) reads the status from the
            # response. The app's start_response may have recorded "200 OK",
            # but the client got a 500; the log must say what was sent.
            response.status, response.status_code = "500 Internal Server Error", 500

    def after_request(self, request: Request, environ: dict, response: Response | None,
                      elapsed: float) -> None:
        """Write the access log line, send the request's metrics, run the post_request hook.

        Override in a subclass: to record more about each request.
        """
        if response is None:
            return
        try:
            status = response.status or "500 Internal Server Error"
            self.log.access(environ, status, response.headers, response.sent, elapsed)
            self.statsd.request(status, elapsed)
            self.cfg.post_request(self, request, environ, response)
        except Exception:
            self.log.exception("Exception in post_request hook or access log")


def send_error(conn: Connection, status: int, reason: str, message: str = "") -> None:
    """Send a short error response; a client that is already gone is not an error."""
    try:
        conn.sock.sendall(error_response(status, reason, message))
    except OSError:
        pass
