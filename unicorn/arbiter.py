"""The arbiter: the master process that forks workers and keeps them healthy.

It opens the listening sockets, forks the workers, and then only sleeps,
wakes for a signal or a heartbeat check, and acts. It never touches a client.
All of the arbiter's state is written here; USR2's steps live in upgrade.py,
which returns what the arbiter keeps.

Explained in the chapters "The pre-fork model", "Signals" and "Heartbeats and timeouts".
gunicorn: gunicorn/arbiter.py.
Left out: the control socket.
"""

import os
import select
import signal
import sys
import time

from unicorn import __version__, systemd, tls, upgrade
from unicorn.app import (
    APP_LOAD_ERROR,
    WORKER_BOOT_ERROR,
    AppImportError,
    app_traceback,
    load_app,
    prepare_import_path,
)
from unicorn.config import Config, ConfigError
from unicorn.log import Logger
from unicorn.pidfile import Pidfile, PidfileError
from unicorn.process import daemonize, set_process_title
from unicorn.sockets import (
    BindError,
    Listener,
    create_listeners,
    inherited_listeners,
    parse_address,
)
from unicorn.statsd import Statsd
from unicorn.workers import load_worker_class
from unicorn.workers.base import Worker

# What the master does with each signal, in the words --explain uses.
SIGNAL_MEANINGS = {
    "HUP": "re-reading the configuration, forking fresh workers, then stopping the old ones "
           "gracefully; the master's pid does not change.",
    "TERM": "graceful stop: closing the listeners and asking each worker to finish its current "
            "request and exit, waiting up to graceful_timeout.",
    "INT": "quick stop: workers are told to exit at once (SIGQUIT), then killed.",
    "QUIT": "quick stop: workers are told to exit at once (SIGQUIT), then killed.",
    "TTIN": "one more worker.",
    "TTOU": "one worker fewer (the oldest is stopped gracefully).",
    "USR1": "reopening the log files, here and in every worker (after logrotate).",
    "USR2": "starting a new master from the current code on the same listening sockets.",
    "WINCH": "with --daemon, stopping every worker but keeping the master.",
}


class HaltServer(Exception):
    """Stop the arbiter with ``status`` after logging ``reason``."""

    def __init__(self, reason: str, status: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class StopServer(Exception):
    """Raised by TERM/INT/QUIT to leave the main loop."""

    def __init__(self, graceful: bool) -> None:
        super().__init__("stop")
        self.graceful = graceful


class Arbiter:
    """The master process: one instance, alive from start to exit."""

    # The signals the master answers; each maps to a handle_<name> method.
    SIGNALS = ["HUP", "QUIT", "INT", "TERM", "TTIN", "TTOU", "USR1", "USR2", "WINCH", "CHLD"]
    # How long the master sleeps when nothing happens: the heartbeat check rate.
    TICK = 1.0
    # How long a QUIT/INT waits for workers before killing them.
    QUICK_SHUTDOWN_TIMEOUT = 2.0

    def __init__(self, cfg: Config, argv: list[str], launch_dir: str) -> None:
        self.cfg = cfg
        self.argv = list(argv)  # the command line: read again on HUP, passed on by USR2
        self.launch_dir = launch_dir  # where relative paths in argv point
        self.old_master_pid = upgrade.old_master_pid(os.environ)  # USR2 started us?
        self.launch_environ = dict(os.environ)  # before raw_env: HUP and USR2 read this
        # Detach before the logger opens files or captures output, which the
        # double fork's /dev/null would otherwise replace. A master started by
        # USR2 is already detached.
        if cfg.daemon and not self.old_master_pid:
            daemonize()
        self.log = make_logger(cfg)
        self.statsd = self.open_statsd(cfg)
        self.reported_workers: int | None = None  # the worker count statsd last heard
        self.pid = os.getpid()
        self.listeners: list[Listener] = []
        self.bound: dict[str, Listener] = {}  # bind address -> Listener, reused by HUP
        self.listeners_inherited = False  # from systemd or an old master, not from bind
        self.workers: dict[int, Worker] = {}  # pid -> Worker, the ones that serve
        self.retiring: dict[int, Worker] = {}  # pid -> Worker told to stop, not yet reaped
        self.worker_class: type[Worker] | None = None  # set by start() and by reload()
        self.spawn_count = 0  # workers forked so far; each one's number is its age
        self.num_workers: int | None = None  # set by start(); TTIN, TTOU, HUP and WINCH change it
        self.app = None  # set in the master only with preload_app
        self.pidfile: Pidfile | None = None
        self.reexec_pid = 0  # the new master forked by USR2, while it lives
        self.wakeup_r = self.wakeup_w = -1
        self.stopping = False  # set once the master has begun to stop

    # -- start ----------------------------------------------------------

    def start(self) -> None:
        """Everything the master does once, before the first fork.

        Order matters: signals are routed before any child exists; sockets are
        bound before the pidfile says we are up; the app (with --preload) is
        imported before fork, so that every worker shares it.
        """
        os.environ.update(self.cfg.env)  # raw_env: for the app, and for every worker
        set_process_title(f"unicorn: master [{self.cfg.proc_name or self.cfg.app_uri}]")
        self.log.info("Starting unicorn %s", __version__)
        self.cfg.on_starting(self)
        self.init_signals()
        # Before binding: a worker class that cannot load (gevent not installed) stops us first.
        self.worker_class = self.load_worker_class(self.cfg)
        self.listeners = self.open_listeners()
        for listener in self.listeners:
            self.log.info("Listening at: %s (%s)", listener, self.pid)
            self.log.explain(
                f"Opened listening socket {listener} in the master; every worker forked later "
                "inherits it and accepts from it.",
                "Sockets and binding",
            )
        self.log.info("Using worker: %s", self.cfg.worker_class_uri)
        if self.cfg.pidfile:
            self.pidfile = Pidfile(upgrade.pidfile_path(self.cfg.pidfile, self.old_master_pid))
            self.pidfile.create(self.pid)
        if self.cfg.preload_app:
            self.app = load_app(self.cfg.app_uri)
        self.set_worker_count(self.cfg.workers)
        self.cfg.when_ready(self)

    def open_listeners(self) -> list[Listener]:
        """The sockets systemd or an old master passed us, else new ones from ``bind``."""
        inherited = inherited_listeners(os.environ, self.cfg.backlog)
        self.listeners_inherited = bool(inherited)
        if inherited:
            self.bound = {str(listener.address): listener for listener in inherited}
            return inherited
        listeners = create_listeners(
            self.cfg.bind, self.cfg.backlog, self.cfg.reuse_port, self.cfg.umask, self.log
        )
        self.bound = dict(zip(self.cfg.bind, listeners, strict=True))
        return listeners

    def load_worker_class(self, cfg: Config) -> type[Worker]:
        try:
            return load_worker_class(cfg.worker_class_uri)
        except (ImportError, AttributeError) as error:
            message = f"Cannot load worker class {cfg.worker_class_uri!r}: {error}"
            raise HaltServer(message) from None

    def init_signals(self) -> None:
        """Route every signal through a pipe into the main loop.

        ``signal.set_wakeup_fd`` makes the C-level handler write the signal's
        number into our pipe, using only write(2), which is safe inside a
        signal handler. The Python-level handlers do nothing: they exist so
        the default action (often "terminate") does not happen. All the work
        is done by the main loop, which reads the numbers from the pipe, so
        no handler ever runs in the middle of a fork or a waitpid.
        """
        self.wakeup_r, self.wakeup_w = os.pipe()
        for fd in (self.wakeup_r, self.wakeup_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)
        signal.set_wakeup_fd(self.wakeup_w, warn_on_full_buffer=False)
        for signum in self.signal_numbers():
            signal.signal(signum, self.note_signal)

    def signal_numbers(self) -> list[int]:
        return [getattr(signal, "SIG" + name) for name in self.SIGNALS]

    def note_signal(self, signum, frame) -> None:
        """The Python-level handler: nothing to do, the pipe has the number."""

    # -- the main loop ----------------------------------------------------

    def run(self) -> int:
        """Start, then sleep-and-act until told to stop; return the exit status."""
        try:
            self.start()
            self.manage_workers()
            systemd.notify(systemd.READY)
            while True:
                self.old_master_pid = upgrade.promote_if_old_master_gone(
                    self.old_master_pid, self.pidfile, self.cfg.pidfile, self.log)
                for signum in self.wait_for_signals(self.TICK):
                    self.dispatch(signum)
                self.murder_workers()
                self.manage_workers()
        except StopServer as stop:
            return self.halt(0, graceful=stop.graceful)
        except HaltServer as halt:
            self.log.error("%s", halt.reason)
            return self.halt(halt.status)
        except (BindError, PidfileError) as error:
            self.log.error("%s", error)
            return self.halt(1)
        except AppImportError as error:  # only with preload_app: the master loads the app
            if app_traceback(error):
                self.log.error("%s", app_traceback(error))
            self.log.error("%s", error)
            return self.halt(APP_LOAD_ERROR)
        except Exception:
            self.log.exception("Unhandled exception in the master loop")
            return self.halt(1)

    def wait_for_signals(self, timeout: float) -> list[int]:
        """Sleep until a signal arrives or ``timeout`` passes; return their numbers."""
        ready, _, _ = select.select([self.wakeup_r], [], [], timeout)
        if not ready:
            return []
        try:
            data = os.read(self.wakeup_r, 512)
        except BlockingIOError:
            return []
        return list(data)  # one byte per delivered signal, in order

    def dispatch(self, signum: int) -> None:
        name = signal.Signals(signum).name[3:]
        if name != "CHLD":
            self.log.info("Handling signal: %s", name.lower())
            self.log.explain(f"Received SIG{name}: {SIGNAL_MEANINGS[name]}", "Signals")
        getattr(self, "handle_" + name.lower())()

    # -- signal handlers: each one a short list of steps -------------------

    def handle_chld(self) -> None:
        self.reap_workers()

    def handle_hup(self) -> None:
        """Reload the configuration and replace every worker, gently."""
        self.reload()

    def handle_term(self) -> None:
        """Graceful stop: in-flight requests finish, up to graceful_timeout."""
        raise StopServer(graceful=True)

    def handle_int(self) -> None:
        raise StopServer(graceful=False)

    def handle_quit(self) -> None:
        raise StopServer(graceful=False)

    def handle_ttin(self) -> None:
        self.set_worker_count(self.num_workers + 1)

    def handle_ttou(self) -> None:
        if self.num_workers > 1:
            self.set_worker_count(self.num_workers - 1)

    def handle_usr1(self) -> None:
        """Reopen log files (after logrotate moved them), here and in every worker."""
        self.log.reopen_files(self.cfg.user, self.cfg.group)
        self.kill_workers(signal.SIGUSR1)

    def handle_usr2(self) -> None:
        """Start a new master from the current code, sharing our listeners."""
        if self.reexec_pid:
            self.log.warning("USR2 ignored: a new master (pid %s) is already running",
                             self.reexec_pid)
        elif self.old_master_pid:
            self.log.warning("USR2 ignored: the old master (pid %s) has not exited yet",
                             self.old_master_pid)
        else:
            self.reexec_pid = upgrade.reexec(self)

    def handle_winch(self) -> None:
        """Stop all workers but keep the master, as gunicorn does, when daemonized."""
        if self.cfg.daemon:
            self.log.info("graceful stop of workers")
            self.set_worker_count(0)
        else:
            # A terminal sends WINCH to its foreground processes whenever its window is resized.
            self.log.info("Ignoring SIGWINCH: it stops the workers only with --daemon; without "
                          "it, WINCH comes from a terminal window being resized")

    def set_worker_count(self, new_count: int) -> None:
        """Change how many workers there should be; the loop then forks or stops some."""
        old_count, self.num_workers = self.num_workers, new_count
        if old_count == new_count:
            return
        if old_count is not None:
            self.log.explain(
                f"Worker count changed from {old_count} to {new_count}; the master forks or "
                "stops workers to match.",
                "Signals",
            )
        self.cfg.nworkers_changed(self, new_count, old_count)

    # -- keeping the right workers ---------------------------------------

    def manage_workers(self) -> None:
        """Fork missing workers; stop the oldest extras; tell statsd when the count changed."""
        while len(self.workers) < self.num_workers:
            self.spawn_worker()
        by_age = sorted(self.workers.values(), key=lambda worker: worker.age)
        for worker in by_age[: max(len(by_age) - self.num_workers, 0)]:
            self.retire(worker)
        if len(self.workers) != self.reported_workers:
            self.reported_workers = len(self.workers)
            self.statsd.workers(self.reported_workers)

    def open_statsd(self, cfg: Config) -> Statsd:
        statsd = Statsd(cfg.statsd_host, cfg.statsd_prefix)
        if cfg.statsd_host and statsd.sock is None:
            self.log.warning("Cannot resolve statsd host %s: no metrics will be sent",
                             cfg.statsd_host)
        return statsd

    def retire(self, worker: Worker) -> None:
        """Ask a worker to finish what it is doing and exit (TERM)."""
        self.kill_worker(worker.pid, signal.SIGTERM)
        self.retiring[worker.pid] = self.workers.pop(worker.pid)

    def spawn_worker(self) -> int:
        """Fork one worker. In the child this never returns: the child exits."""
        self.spawn_count += 1
        worker = self.worker_class(self.spawn_count, self.pid, self.listeners, self.app,
                                   self.cfg, self.log)
        self.cfg.pre_fork(self, worker)
        # The master's signals stay blocked across fork until the child has
        # its own handlers (Worker.init_process unblocks them). Otherwise a
        # TERM arriving in between would run the master's do-nothing handler
        # in the child, and be lost.
        signal.pthread_sigmask(signal.SIG_BLOCK, self.signal_numbers())
        pid = os.fork()
        if pid != 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.signal_numbers())
            worker.pid = pid
            self.workers[pid] = worker
            self.log.info("Booting worker with pid: %s", pid)
            self.log.explain(
                f"Forked worker {pid}: a copy of the master that shares its listening sockets.",
                "The pre-fork model",
            )
            return pid
        self.run_child(worker)

    def run_child(self, worker: Worker) -> None:
        """The forked child's whole life; it ends in os._exit so it never returns
        into the master's loop (and never runs the master's cleanup)."""
        status = 1
        try:
            # Undo the master's signal routing before closing its pipe: a
            # signal in between must not be written into a reused fd number.
            signal.set_wakeup_fd(-1)
            for signum in self.signal_numbers():
                signal.signal(signum, signal.SIG_DFL)
            os.close(self.wakeup_r)
            os.close(self.wakeup_w)
            # The other workers' heartbeat files came with the fork; only ours is ours.
            for other in [*self.workers.values(), *self.retiring.values()]:
                other.heartbeat.close()
            worker.pid = os.getpid()
            self.cfg.post_fork(self, worker)
            status = worker.start()
            self.log.info("Worker exiting (pid: %s)", worker.pid)
        finally:
            try:
                self.cfg.worker_exit(self, worker)
            finally:
                flush_and_exit(status)

    def reap_workers(self) -> None:
        """Collect every child that exited; a worker that cannot boot stops the server."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.reexec_pid:
                self.reexec_pid = 0
                self.log.info("The master started by USR2 exited")
                continue
            self.forget_worker(pid, os.waitstatus_to_exitcode(wait_status))

    def forget_worker(self, pid: int, exit_code: int) -> None:
        worker = self.workers.pop(pid, None) or self.retiring.pop(pid, None)
        # A worker that cannot boot would fail the same way forever: stop,
        # rather than fork in a loop. (While stopping, siblings failing too
        # are expected and not news.)
        if exit_code == WORKER_BOOT_ERROR and not self.stopping:
            raise HaltServer("Worker failed to boot.", WORKER_BOOT_ERROR)
        if exit_code == APP_LOAD_ERROR and not self.stopping:
            raise HaltServer(f"App failed to load: {self.cfg.app_uri}", APP_LOAD_ERROR)
        if exit_code < 0:
            name = signal.Signals(-exit_code).name
            # A SIGKILL we did not send usually comes from the kernel's out-of-memory killer.
            oom = -exit_code == signal.SIGKILL and not (worker and worker.killed_by_master)
            hint = " Perhaps out of memory?" if oom else ""
            self.log.error("Worker (pid:%s) was sent %s!%s", pid, name, hint)
        elif exit_code != 0:
            self.log.error("Worker (pid:%s) exited with code %s", pid, exit_code)
        self.log.explain(
            f"Reaped worker {pid} (exit status {exit_code}) with waitpid(); "
            "the master forks a replacement if one is missing.",
            "The pre-fork model",
        )
        if worker is not None:
            worker.heartbeat.close()
            self.cfg.child_exit(self, worker)

    def murder_workers(self) -> None:
        """Kill workers whose heartbeat is older than ``timeout``: first ABRT, then KILL."""
        if self.cfg.timeout <= 0:
            return
        for worker in [*self.workers.values(), *self.retiring.values()]:
            try:
                silent_for = time.time() - worker.heartbeat.last_beat()
            except (OSError, ValueError):
                continue
            if silent_for <= self.cfg.timeout:
                continue
            if not worker.aborted:
                self.log.critical("WORKER TIMEOUT (pid:%s)", worker.pid)
                self.log.explain(
                    f"Worker {worker.pid} sent no heartbeat for {silent_for:.0f}s "
                    f"(timeout is {self.cfg.timeout}s): sending SIGABRT, then SIGKILL.",
                    "Heartbeats and timeouts",
                )
                worker.aborted = True
                self.kill_worker(worker.pid, signal.SIGABRT)
            else:
                self.kill_worker(worker.pid, signal.SIGKILL)

    def kill_worker(self, pid: int, signum: int) -> None:
        worker = self.workers.get(pid) or self.retiring.get(pid)
        if worker is not None and signum == signal.SIGKILL:
            worker.killed_by_master = True  # so that its reap is not blamed on the OOM killer
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass  # it exited already; reap_workers will collect it

    def kill_workers(self, signum: int) -> None:
        for pid in list(self.workers) + list(self.retiring):
            self.kill_worker(pid, signum)

    # -- reload (HUP) --------------------------------------------------------

    def reload(self) -> None:
        """HUP: a new configuration, new workers first, then the old ones stop gracefully.

        Everything that can fail (reading the configuration, the worker
        class, a preloaded app, the log files, new sockets) is prepared before
        anything running is replaced, so a broken reload changes nothing.
        """
        try:
            cfg = self.read_config_again()
            worker_class = self.load_worker_class(cfg)
            tls.check(cfg)  # a renewed certificate that does not load is refused here
            app = load_app(cfg.app_uri) if cfg.preload_app else None
            log = make_logger(cfg)  # takes over the log handlers...
        except (ConfigError, HaltServer, AppImportError, OSError, ValueError) as error:
            self.log = make_logger(self.cfg)  # ...so give them back
            self.log.error("Reload refused, keeping the running configuration: %s", error)
            return
        try:
            listeners = self.listeners_for(cfg, log)
        except BindError as error:
            self.log = make_logger(self.cfg)
            self.log.error("Reload refused, keeping the running configuration: %s", error)
            return
        self.apply_reload(cfg, log, worker_class, app, listeners)

    def read_config_again(self) -> Config:
        """The configuration the original command line gives now, with paths read
        from where unicorn was started and the environment it was started with."""
        os.chdir(self.launch_dir)
        try:
            return Config.load(self.argv, self.launch_environ)
        finally:
            os.chdir(self.cfg.chdir)

    def listeners_for(self, cfg: Config, log: Logger) -> dict[str, Listener]:
        """Listeners for the new ``bind``: the running ones where an address stays,
        new ones where it is new. The old workers still hold the old sockets,
        so binding an unchanged address again would fail."""
        if self.listeners_inherited:
            return dict(self.bound)  # systemd's or the old master's sockets: not ours to change
        listeners = {}
        for address in cfg.bind:
            found = self.bound.get(address) or self.bound.get(str(parse_address(address)))
            if found is None:
                found = create_listeners([address], cfg.backlog, cfg.reuse_port, cfg.umask,
                                         log)[0]
            listeners[address] = found
        return listeners

    def apply_reload(self, cfg: Config, log: Logger, worker_class: type[Worker], app,
                     listeners: dict[str, Listener]) -> None:
        """Switch to the prepared configuration; from here nothing can fail."""
        kept = {id(listener) for listener in listeners.values()}
        for listener in self.listeners:
            if id(listener) not in kept:
                listener.close(unlink=listener.owns_socket_file)
        self.cfg, self.log, self.worker_class, self.app = cfg, log, worker_class, app
        self.statsd.close()
        self.statsd, self.reported_workers = self.open_statsd(cfg), None
        self.bound, self.listeners = listeners, list(listeners.values())
        os.environ.clear()
        os.environ.update(self.launch_environ)
        os.environ.update(cfg.env)
        prepare_import_path(cfg.chdir, cfg.pythonpath)
        self.cfg.on_reload(self)
        old_workers = list(self.workers.values())
        self.set_worker_count(cfg.workers)
        for _ in range(self.num_workers):
            self.spawn_worker()
        for worker in old_workers:
            self.retire(worker)

    # -- stop --------------------------------------------------------------

    def stop(self, graceful: bool) -> None:
        """Close the listeners, signal the workers, wait, then kill what is left.

        A unix socket file stays while the other master of a USR2 upgrade may
        still be using it. INT or QUIT during a graceful stop makes it quick.
        """
        self.stopping = True
        self.close_listeners(unlink=not self.reexec_pid and not self.old_master_pid)
        self.kill_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        limit = self.cfg.graceful_timeout if graceful else self.QUICK_SHUTDOWN_TIMEOUT
        deadline = time.monotonic() + limit
        while (self.workers or self.retiring) and time.monotonic() < deadline:
            signums = self.wait_for_signals(0.1)
            if graceful and (signal.SIGINT in signums or signal.SIGQUIT in signums):
                graceful = False
                self.kill_workers(signal.SIGQUIT)
                deadline = min(deadline, time.monotonic() + self.QUICK_SHUTDOWN_TIMEOUT)
            self.reap_workers()
        if self.workers or self.retiring:
            self.kill_workers(signal.SIGKILL)
            deadline = time.monotonic() + 1.0
            while (self.workers or self.retiring) and time.monotonic() < deadline:
                self.wait_for_signals(0.05)
                self.reap_workers()

    def close_listeners(self, unlink: bool) -> None:
        for listener in self.listeners:
            listener.close(unlink=unlink and listener.owns_socket_file)
        self.listeners = []

    def halt(self, status: int, graceful: bool = False) -> int:
        """Stop everything and return the process's exit status.

        At the end of a USR2 upgrade the new master carries on: systemd is told
        it is now the main process, and it will rename its pidfile over ours.
        """
        handing_over = bool(self.reexec_pid)
        systemd.notify(f"MAINPID={self.reexec_pid}" if handing_over else systemd.STOPPING)
        self.stop(graceful)
        self.log.info("Shutting down: Master")
        if self.pidfile is not None and not handing_over:
            self.pidfile.unlink()
        self.cfg.on_exit(self)
        return status


def make_logger(cfg: Config) -> Logger:
    return Logger(
        errorlog=cfg.errorlog,
        loglevel=cfg.loglevel,
        accesslog=cfg.accesslog,
        access_log_format=cfg.access_log_format,
        capture_output=cfg.capture_output,
        logconfig_dict=cfg.logconfig_dict,
        explain=cfg.explain,
        proc_name=cfg.proc_name or "unicorn",
    )


def flush_and_exit(status: int) -> None:
    """Leave a forked child without running the parent's atexit handlers."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
