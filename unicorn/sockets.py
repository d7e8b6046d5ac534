"""Listening sockets: parse a bind address, then bind it or adopt one that is already bound.

The master creates the listeners before forking (again on HUP, for new
addresses only), and every worker accepts on the same sockets.

Explained in the chapter "Sockets and binding".
gunicorn: gunicorn/sock.py (and util.parse_address).
Left out: TLS, chown of unix sockets for a worker user, binding abstract unix
names, and host names that resolve only to IPv6 (a name is bound as IPv4;
write [::1] for IPv6).
"""

import errno
import os
import socket
import stat
import time
from collections.abc import MutableMapping
from dataclasses import dataclass

from unicorn import systemd

DEFAULT_PORT = 8000

# gunicorn's default for --backlog; used when an inherited socket turns out not to be listening yet.
DEFAULT_BACKLOG = 2048

# The variable a master sets before a USR2 re-exec: "3,4" lists the fds the new master inherits.
UNICORN_FD = "UNICORN_FD"

# Bind errors that waiting can cure: the old server is still shutting down, an interface coming up.
# Anything else (permission denied, no such directory) fails at once.
RETRYABLE_BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL})

# Where a listener came from decides who may delete its socket file (Listener.owns_socket_file).
ORIGIN_BIND = "bind"  # we bound it ourselves
ORIGIN_REEXEC = "reexec"  # inherited through UNICORN_FD from the master we replace
ORIGIN_SYSTEMD = "systemd"  # systemd bound it and will hand it to our successor
ORIGIN_FD = "fd"  # fd://N: whoever started us bound it


@dataclass(frozen=True)
class Address:
    """One parsed bind address. Only the fields of its kind are set."""

    kind: str  # 'tcp' | 'tcp6' | 'unix' | 'fd'
    host: str | None = None  # tcp, tcp6: an IP address or a host name, without brackets
    port: int | None = None  # tcp, tcp6
    path: str | None = None  # unix; '@name' for an abstract socket we inherited
    fd: int | None = None  # fd

    def __str__(self) -> str:
        """The address as --bind spells it, so parse_address(str(a)) == a."""
        if self.kind == "tcp":
            return f"{self.host}:{self.port}"
        if self.kind == "tcp6":
            return f"[{self.host}]:{self.port}"
        if self.kind == "unix":
            return f"unix:{self.path}"
        return f"fd://{self.fd}"


class BindError(Exception):
    """A listener could not be created. str() is one line, fit for the last line before exit 1."""

    def __init__(self, address: Address | str, reason: str):
        super().__init__(f"Can't bind to {address}: {reason}")
        self.address = address
        self.reason = reason


# --- Parsing ---------------------------------------------------------------------------------


def parse_address(text: str) -> Address:
    """Parse one --bind value: HOST:PORT, HOST, [IPV6]:PORT, [IPV6], unix:PATH or fd://N.

    A missing port means 8000, an empty host (":8000") means every IPv4 interface.
    "tcp://" in front of a TCP address and "unix://" for "unix:" are accepted as gunicorn does.
    Raises ValueError saying what is wrong with the text.
    """
    if text.startswith("unix:"):
        return _parse_unix(text)
    if text.startswith("fd://"):
        return _parse_fd(text)
    hostport = text.removeprefix("tcp://")
    if hostport.startswith("["):
        return _parse_ipv6(text, hostport)
    return _parse_ipv4_or_name(text, hostport)


def _parse_unix(text: str) -> Address:
    path = text.removeprefix("unix:")
    if path.startswith("//"):
        path = path[2:]
    if not path:
        raise ValueError(f"{text!r}: a unix address needs a path, e.g. unix:/tmp/unicorn.sock")
    if path.startswith("@") or "\0" in path:
        raise ValueError(f"{text!r}: abstract unix socket names are not supported, use a file path")
    return Address("unix", path=path)


def _parse_fd(text: str) -> Address:
    number = text.removeprefix("fd://")
    if not (number.isascii() and number.isdigit()):
        raise ValueError(f"{text!r}: fd:// needs a file descriptor number, e.g. fd://3")
    return Address("fd", fd=int(number))


def _parse_ipv6(text: str, hostport: str) -> Address:
    host, bracket, rest = hostport[1:].partition("]")
    if not bracket:
        raise ValueError(f"{text!r}: missing ']' after the IPv6 address")
    try:
        socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        raise ValueError(f"{text!r}: {host!r} is not an IPv6 address") from None
    if rest and not rest.startswith(":"):
        raise ValueError(f"{text!r}: expected ':PORT' after ']', found {rest!r}")
    port = _parse_port(text, rest[1:]) if rest else DEFAULT_PORT
    return Address("tcp6", host=host.lower(), port=port)


def _parse_ipv4_or_name(text: str, hostport: str) -> Address:
    if not hostport:
        raise ValueError("empty bind address; try 127.0.0.1:8000")
    if hostport.count(":") > 1:
        raise ValueError(f"{text!r}: an IPv6 address needs brackets, e.g. [::1]:8000")
    host, colon, port_text = hostport.partition(":")
    port = _parse_port(text, port_text) if colon else DEFAULT_PORT
    return Address("tcp", host=host.lower() or "0.0.0.0", port=port)


def _parse_port(text: str, port_text: str) -> int:
    if not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"{text!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"{text!r}: port {port} is out of range (0-65535)")
    return port


# --- Listener --------------------------------------------------------------------------------


class Listener:
    """A listening socket and the address it is really bound to.

    Contract with the workers: `sock` is non-blocking. O_NONBLOCK belongs to the socket that every
    forked worker shares, so it is set once, here. A worker waits with select() for a connection,
    then calls sock.accept(), which raises BlockingIOError when another worker took it first.
    Connections returned by accept() are blocking.
    """

    def __init__(self, sock: socket.socket, origin: str = ORIGIN_BIND):
        self.sock = sock
        self.origin = origin
        # Read back rather than taken from --bind: port 0 becomes the port the kernel chose.
        self.address = address_of(sock)
        # What every accepted Connection records as its server address (for
        # SERVER_NAME and SERVER_PORT): read once here, for speed, rather
        # than with a getsockname() system call per accept.
        self.name = sock.getsockname()

    def __str__(self) -> str:
        if self.address.kind == "tcp":
            return f"http://{self.address.host}:{self.address.port}"
        if self.address.kind == "tcp6":
            return f"http://[{self.address.host}]:{self.address.port}"
        return f"unix:{self.address.path}"

    def __repr__(self) -> str:
        return f"<Listener {self} fd={self.sock.fileno()} origin={self.origin}>"

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def owns_socket_file(self) -> bool:
        """Whether this server may delete the unix socket file when it exits for good.

        True when we bound it, or inherited it from the master we replaced (USR2) and so took over
        its duties. False when systemd or a supervisor passed it in: they will pass it again.
        """
        return self.address.kind == "unix" and self.origin in (ORIGIN_BIND, ORIGIN_REEXEC)

    def close(self, unlink: bool = False) -> None:
        """Close the socket; with unlink=True also delete the unix socket file.

        The master passes unlink=True when it exits for good, or drops an address on HUP. A master
        exiting while the other master of a USR2 upgrade lives must not: that one is accepting on
        the same file, and new clients find it by that name.
        """
        self.sock.close()
        path = self.address.path
        if unlink and self.address.kind == "unix" and path and not path.startswith("@"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def address_of(sock: socket.socket) -> Address:
    """Rebuild the Address of a bound socket from its family and getsockname()."""
    name = sock.getsockname()
    if sock.family == socket.AF_INET:
        return Address("tcp", host=name[0], port=name[1])
    if sock.family == socket.AF_INET6:
        return Address("tcp6", host=name[0], port=name[1])
    if sock.family == socket.AF_UNIX:
        # Python gives an abstract name as bytes starting with NUL; show it as systemd does, @name.
        path = os.fsdecode(name)
        return Address("unix", path="@" + path[1:] if path.startswith("\0") else path)
    raise ValueError(f"fd {sock.fileno()} is not a TCP or unix socket ({sock.family!r})")


# --- Creating listeners ----------------------------------------------------------------------


def create_listeners(
    binds: list[str],
    backlog: int,
    reuse_port: bool,
    umask: int,
    log,
    retries: int = 5,
    delay: float = 1.0,
) -> list[Listener]:
    """Bind and listen on every address in `binds` (fd://N adopts an fd instead).

    A bind that fails for a reason waiting can cure is tried again `retries` times, `delay` seconds
    apart, each failure logged through log.error(); then BindError is raised.
    On any error the listeners already made are closed, so a failed start leaks nothing.
    """
    listeners: list[Listener] = []
    try:
        for text in binds:
            address = parse_address(text)
            if address.kind == "fd":
                listeners.append(adopt_fd(address.fd, backlog, ORIGIN_FD))
            else:
                sock = _bind_with_retries(address, backlog, reuse_port, umask, log, retries, delay)
                listeners.append(Listener(sock, ORIGIN_BIND))
    except BaseException:
        for listener in listeners:
            listener.close(unlink=listener.origin == ORIGIN_BIND)
        raise
    return listeners


def _bind_with_retries(address, backlog, reuse_port, umask, log, retries, delay) -> socket.socket:
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return _bind(address, backlog, reuse_port, umask)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            log.error("Can't bind to %s: %s (attempt %d of %d)", address, reason, attempt, attempts)
            if exc.errno not in RETRYABLE_BIND_ERRORS or attempt == attempts:
                raise BindError(address, reason) from exc
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _bind(address: Address, backlog: int, reuse_port: bool, umask: int) -> socket.socket:
    """One attempt: create, set options, bind, listen. The socket is closed if any step fails."""
    family = {"tcp": socket.AF_INET, "tcp6": socket.AF_INET6, "unix": socket.AF_UNIX}[address.kind]
    # Python creates sockets non-inheritable (PEP 446): forked workers share them, but a program
    # an application exec()s does not get them. listener_fds_env() lifts that for a USR2 re-exec.
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        _set_options(sock, address.kind, reuse_port)
        if address.kind == "unix":
            _bind_unix(sock, address.path, umask)
        else:
            sock.bind((address.host, address.port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _set_options(sock: socket.socket, kind: str, reuse_port: bool) -> None:
    if kind == "unix":
        return
    # Without SO_REUSEADDR a restart fails for a minute while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        # Lets several sockets bind the same port; the kernel spreads connections among them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # Accepted connections inherit this: send small responses at once instead of waiting (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if kind == "tcp6":
        # Otherwise [::]:8000 also takes IPv4's 0.0.0.0:8000, and the two cannot be bound together.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)


def _bind_unix(sock: socket.socket, path: str, umask: int) -> None:
    _remove_stale_socket_file(path)
    # bind() creates the socket file with mode 0777 & ~umask; the umask decides who may connect.
    # os.umask is process-wide: safe here only because the master binds before any thread runs.
    old_umask = os.umask(umask)
    try:
        sock.bind(path)
    finally:
        os.umask(old_umask)


def _remove_stale_socket_file(path: str) -> None:
    """Delete a socket file left by a server that died, but never one a live server listens on.

    gunicorn deletes any socket file in the way; asking first keeps a second server started by
    mistake from silently stealing the first one's address.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    if _someone_listens_on(path):
        raise OSError(errno.EADDRINUSE, "Address already in use (a server is listening there)")
    os.unlink(path)


def _someone_listens_on(path: str) -> bool:
    """Ask by connecting. The live server sees a client that closes at once, as clients may."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        # Non-blocking, so a live server with a full backlog answers EAGAIN instead of hanging us.
        probe.setblocking(False)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            return False
        except BlockingIOError:
            return True
        return True


# --- Inherited listeners ---------------------------------------------------------------------


def adopt_fd(fd: int, backlog: int = DEFAULT_BACKLOG, origin: str = ORIGIN_FD) -> Listener:
    """Wrap an already bound socket fd in a Listener. The Listener now owns the fd.

    Raises BindError when fd is not an open stream socket.
    """
    try:
        sock = socket.socket(fileno=fd)  # family and type are read from the fd
    except OSError as exc:
        raise BindError(f"fd://{fd}", exc.strerror or str(exc)) from exc
    families = (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX)
    if sock.type != socket.SOCK_STREAM or sock.family not in families:
        sock.detach()  # leave the fd open: it is not a listener, so it is not ours
        raise BindError(f"fd://{fd}", "not a TCP or unix stream socket")
    if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.listen(backlog)
    # The fd arrived inheritable (it survived an exec); keep it from leaking into further execs.
    sock.set_inheritable(False)
    sock.setblocking(False)
    return Listener(sock, origin)


def inherited_listeners(
    environ: MutableMapping[str, str] = os.environ, backlog: int = DEFAULT_BACKLOG
) -> list[Listener] | None:
    """The listeners this process was given at exec time, or None if it must bind its own.

    Two senders: systemd socket activation (LISTEN_PID/LISTEN_FDS), and the master we replace in a
    USR2 re-exec (UNICORN_FD). The variables are removed from `environ` once read, so children
    (and the next re-exec) do not claim the fds again.
    """
    reexec_fds = environ.pop(UNICORN_FD, None)
    systemd_fds = systemd.listen_fds(environ)
    if systemd_fds:
        return [adopt_fd(fd, backlog, ORIGIN_SYSTEMD) for fd in systemd_fds]
    if reexec_fds is None:
        return None
    return [adopt_fd(fd, backlog, ORIGIN_REEXEC) for fd in _parse_fd_list(reexec_fds)]


def _parse_fd_list(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(f"{UNICORN_FD}={text!r} is not a comma-separated list of fd numbers")
    return [int(part) for part in parts]


def listener_fds_env(listeners: list[Listener]) -> dict[str, str]:
    """The environment variables that hand `listeners` to a re-exec'd master.

    Call it in the forked child just before exec: it makes the fds inheritable (they are not, by
    default), and LISTEN_PID names the current process, which exec keeps. Listeners that systemd
    passed are handed on the same way, so the successor still knows not to delete systemd's socket
    files; UNICORN_FD is always set too, and is used if the systemd variables do not apply.
    """
    fds = [listener.fileno() for listener in listeners]
    for fd in fds:
        os.set_inheritable(fd, True)
    env = {UNICORN_FD: ",".join(str(fd) for fd in fds)}
    from_systemd = all(listener.origin == ORIGIN_SYSTEMD for listener in listeners)
    first = systemd.SD_LISTEN_FDS_START
    if listeners and from_systemd and fds == list(range(first, first + len(fds))):
        env["LISTEN_PID"] = str(os.getpid())
        env["LISTEN_FDS"] = str(len(fds))
    return env
