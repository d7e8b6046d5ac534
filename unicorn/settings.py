"""Settings: the one table in which every setting is described, once.

The command line, the config file, --print-config and the book's settings
reference are all generated from it. How the table is loaded lives in
unicorn.config.

Explained in the chapter "Configuration".
gunicorn: the Setting classes of gunicorn/config.py.
Left out: syslog and reload-engine settings, the ssl_context hook and --ssl-version,
and hooks named by dotted strings.
"""

from __future__ import annotations

import grp
import inspect
import ipaddress
import os
import pwd
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from unicorn.log import DEFAULT_ACCESS_FORMAT, LOG_LEVELS
from unicorn.migration import left_out_worker
from unicorn.sockets import DEFAULT_BACKLOG, DEFAULT_PORT, parse_address
from unicorn.statsd import parse_statsd_address
from unicorn.workers import WORKER_CLASSES


@dataclass(frozen=True)
class Setting:
    """One knob, described once: the CLI, the config file and the book all read this record."""

    name: str
    flags: tuple[str, ...]  # empty for settings that only a config file can set
    validate: Callable[[Any], Any]  # raw value -> typed value, or ValueError saying why
    default: Any  # a raw value; it goes through validate like any other
    section: str
    help: str
    action: str = "store"  # argparse action: store, append, store_true or store_false
    metavar: str | None = None


# -- Validators: each takes a string (CLI, environment) or any Python value (config file).

def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{value!r} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an integer") from None


def at_least(minimum: int) -> Callable[[Any], int]:
    def validate(value: Any) -> int:
        number = integer(value)
        if number < minimum:
            raise ValueError(f"must be at least {minimum}, got {number}")
        return number
    return validate


def file_mode(value: Any) -> int:
    """Accept 18, '0o22', '0x12' and, as in C and the shell, '022' meaning octal."""
    if isinstance(value, str):
        digits = value.strip()
        if re.fullmatch(r"0[0-7]+", digits):
            digits = "0o" + digits[1:]
        try:
            value = int(digits, 0)
        except ValueError:
            raise ValueError(f"{value!r} is not a file mode such as 0o022") from None
    mode = integer(value)
    if not 0 <= mode <= 0o777:
        raise ValueError(f"{mode:#o} is not between 0 and 0o777")
    return mode


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{value!r} is not a boolean (use True or False)")


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    return value


def optional_text(value: Any) -> str | None:
    return None if value is None else text(value)


def text_list(value: Any) -> list[str]:
    """A config file may give one string where a list is expected, as gunicorn allows."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"{value!r} is not a string or a list of strings")
    return [text(item) for item in items]


def bind_list(value: Any) -> list[str]:
    """Check the syntax now, so a typo fails before anything is bound; unicorn.sockets
    parses the same strings again when it binds them."""
    addresses = text_list(value)
    if not addresses:
        raise ValueError("at least one address is needed")
    for address in addresses:
        parse_address(address)
    return addresses


def statsd_address(value: Any) -> str | None:
    if value is not None:
        parse_statsd_address(text(value))
    return value


def environment_list(value: Any) -> list[str]:
    entries = text_list(value)
    for entry in entries:
        key, equals, _ = entry.partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{entry!r} is not of the form KEY=VALUE")
    return entries


def worker_class_name(value: Any) -> str:
    name = text(value)
    if left_out := left_out_worker(name):
        raise ValueError(left_out)
    if name in WORKER_CLASSES or re.fullmatch(r"\w+(\.\w+)+", name):
        return name
    raise ValueError(f"{name!r} is not 'sync', 'gthread', 'gevent' or a dotted path "
                     "to a worker class")


def directory(value: Any) -> str:
    """Relative paths are taken from the directory unicorn was started in."""
    path = os.path.abspath(text(value))
    if not os.path.isdir(path):
        raise ValueError(f"{value!r} is not a directory")
    return path


def optional_directory(value: Any) -> str | None:
    return None if value is None else directory(value)


def optional_file(value: Any) -> str | None:
    """Relative paths are taken from the directory unicorn was started in, as for chdir."""
    if value is None:
        return None
    path = os.path.abspath(text(value))
    if not os.path.isfile(path):
        raise ValueError(f"there is no file {value!r}")
    return path


def cert_requirement(value: Any) -> int:
    """0, 1 or 2: the numbers of ssl.CERT_NONE, CERT_OPTIONAL and CERT_REQUIRED."""
    number = integer(value)
    if number not in (0, 1, 2):
        raise ValueError(f"{number} is not 0 (no client certificate), 1 (optional) or 2 (required)")
    return number


def user_id(value: Any) -> int | None:
    """None means: do not switch, keep the user unicorn was started as."""
    if value is None:
        return None
    if isinstance(value, str) and not value.isdigit():
        try:
            return pwd.getpwnam(value).pw_uid
        except KeyError:
            raise ValueError(f"there is no user named {value!r}") from None
    return at_least(0)(value)


def group_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and not value.isdigit():
        try:
            return grp.getgrnam(value).gr_gid
        except KeyError:
            raise ValueError(f"there is no group named {value!r}") from None
    return at_least(0)(value)


def log_level(value: Any) -> str:
    level = text(value).strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def address_list(value: Any) -> list[str]:
    """A comma-separated string or a list; '*' trusts every address."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    addresses = text_list(value)
    for address in addresses:
        if address != "*":
            try:
                ipaddress.ip_network(address)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address or network") from None
    return addresses


def dictionary(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{value!r} is not a dict")
    return dict(value)  # a copy, so no Config can change the table's default


def header_values(value: Any) -> dict[str, str]:
    """A dict of header name -> value; names are kept upper-case, as the parser gives them."""
    headers = dictionary(value)
    for name, expected in headers.items():
        text(name)
        text(expected)
    return {name.upper(): expected for name, expected in headers.items()}


def hook_taking(*arguments: str) -> Callable[[Any], Callable]:
    """Check a hook now, when the config loads, rather than when the server first calls it."""
    def validate(value: Any) -> Callable:
        if not callable(value):
            raise ValueError(f"{value!r} is not callable")
        try:
            inspect.signature(value).bind(*arguments)
        except TypeError:
            name = getattr(value, "__qualname__", repr(value))
            raise ValueError(f"{name}() must accept {len(arguments)} positional "
                             f"argument(s): {', '.join(arguments)}") from None
        except ValueError:  # some builtins have no signature to inspect; trust them
            pass
        return value
    return validate


def do_nothing(*arguments: Any) -> None:
    """The default for every server hook."""


# -- The table. Sections appear in --help in the order they first appear here.

CONFIG_FILE = "Config file"
SERVER_SOCKET = "Server socket"
WORKER_PROCESSES = "Worker processes"
SECURITY = "Security"
SSL = "SSL"
DEBUGGING = "Debugging"
SERVER_MECHANICS = "Server mechanics"
LOGGING = "Logging"
PROCESS_NAMING = "Process naming"
SERVER_HOOKS = "Server hooks"


def hook(name: str, arguments: tuple[str, ...], when: str) -> Setting:
    """Hooks are config-file-only callables whose default does nothing."""
    return Setting(
        name=name, flags=(), section=SERVER_HOOKS,
        validate=hook_taking(*arguments), default=do_nothing,
        help=f"Called as {name}({', '.join(arguments)}) {when}",
    )


SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="config", flags=("-c", "--config"), section=CONFIG_FILE,
        validate=optional_text, default=None,
        help=(
            "The Python file to read settings from (./unicorn.conf.py if it exists and none is "
            "named), given as PATH, file:PATH, or python:MODULE for a module on the import path. "
            "Its top-level names are settings; names starting with an underscore and "
            "imported names are ignored, and any other name is an error."
        ),
        metavar="CONFIG",
    ),
    Setting(
        name="bind", flags=("-b", "--bind"), section=SERVER_SOCKET,
        validate=bind_list, default=[f"127.0.0.1:{DEFAULT_PORT}"],
        help=(
            "An address to listen on, HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N; "
            "repeat -b to listen on several. "
            "When the PORT environment variable is set the default becomes 0.0.0.0:$PORT, "
            "which is what platforms such as Heroku expect."
        ),
        action="append",
        metavar="ADDRESS",
    ),
    Setting(
        name="backlog", flags=("--backlog",), section=SERVER_SOCKET,
        validate=at_least(1), default=DEFAULT_BACKLOG,
        help=(
            "How many connections the kernel may queue before unicorn accepts them. "
            "Clients beyond the queue are refused, so this matters only under heavy load."
        ),
        metavar="INT",
    ),
    Setting(
        name="workers", flags=("-w", "--workers"), section=WORKER_PROCESSES,
        validate=at_least(1), default=1,
        help=(
            "The number of worker processes that serve requests. "
            "Two to four per CPU core is a usual starting point. "
            "The default is the WEB_CONCURRENCY environment variable when it is set, else 1."
        ),
        metavar="INT",
    ),
    Setting(
        name="worker_class", flags=("-k", "--worker-class"), section=WORKER_PROCESSES,
        validate=worker_class_name, default="sync",
        help=(
            "The kind of worker: 'sync' serves one request at a time, 'gthread' serves "
            "several with a pool of threads, 'gevent' serves many with green threads "
            "(pip install 'unicorn-wsgi[gevent]'), and a dotted path names your own Worker "
            "subclass. A 'sync' worker with more than one thread becomes 'gthread'."
        ),
        metavar="STRING",
    ),
    Setting(
        name="threads", flags=("--threads",), section=WORKER_PROCESSES,
        validate=at_least(1), default=1,
        help=(
            "The number of threads in each gthread worker. "
            "Setting it above 1 with the sync worker switches to gthread."
        ),
        metavar="INT",
    ),
    Setting(
        name="worker_connections", flags=("--worker-connections",), section=WORKER_PROCESSES,
        validate=at_least(1), default=1000,
        help=(
            "The most connections a gthread worker holds open at once, idle keep-alive "
            "connections included."
        ),
        metavar="INT",
    ),
    Setting(
        name="max_requests", flags=("--max-requests",), section=WORKER_PROCESSES,
        validate=at_least(0), default=0,
        help=(
            "Restart a worker after it has served this many requests, which bounds the harm "
            "of a slow memory leak. Zero, the default, never restarts."
        ),
        metavar="INT",
    ),
    Setting(
        name="max_requests_jitter", flags=("--max-requests-jitter",), section=WORKER_PROCESSES,
        validate=at_least(0), default=0,
        help=(
            "Add a random number between zero and this to each worker's max_requests, "
            "so that workers started together do not all restart together."
        ),
        metavar="INT",
    ),
    Setting(
        name="timeout", flags=("-t", "--timeout"), section=WORKER_PROCESSES,
        validate=at_least(0), default=30,
        help=(
            "Kill and replace a worker whose heartbeat has been silent this many seconds. "
            "A sync worker beats only between requests, so this also bounds one request. "
            "A gthread worker beats from its event loop, so this means \"the worker is "
            "stuck\", never \"a request is slow\"; there it also bounds how long a client "
            "may take to send a request head, or stay silent in the middle of a body. "
            "Zero turns the check off."
        ),
        metavar="INT",
    ),
    Setting(
        name="graceful_timeout", flags=("--graceful-timeout",), section=WORKER_PROCESSES,
        validate=at_least(0), default=30,
        help=(
            "Seconds the workers are given to finish their requests when the server stops "
            "(TERM); after that they are killed. A gthread worker also stops waiting for its "
            "requests after this long when it is retired by HUP or TTOU; an old sync worker "
            "then finishes its request, bounded only by --timeout."
        ),
        metavar="INT",
    ),
    Setting(
        name="keepalive", flags=("--keep-alive",), section=WORKER_PROCESSES,
        validate=at_least(0), default=2,
        help=(
            "Seconds to wait for the next request on an idle keep-alive connection. "
            "The sync worker closes every connection after one response and ignores this."
        ),
        metavar="INT",
    ),
    Setting(
        name="limit_request_line", flags=("--limit-request-line",), section=SECURITY,
        validate=at_least(0), default=4094,
        help=(
            "The longest request line, in bytes, that a client may send; longer lines are "
            "refused with 414. Zero means the largest unicorn allows, 8190."
        ),
        metavar="INT",
    ),
    Setting(
        name="limit_request_fields", flags=("--limit-request-fields",), section=SECURITY,
        validate=at_least(0), default=100,
        help=(
            "The most header fields one request may carry; more are refused with 431. "
            "Zero means the largest unicorn allows, 32768."
        ),
        metavar="INT",
    ),
    Setting(
        name="limit_request_field_size", section=SECURITY,
        flags=("--limit-request-field_size", "--limit-request-field-size"),
        validate=at_least(0), default=8190,
        help=(
            "The longest header line, in bytes; a longer one is refused with 431. "
            "Zero means the largest unicorn allows, 65536."
        ),
        metavar="INT",
    ),
    Setting(
        name="limit_request_body", flags=("--limit-request-body",), section=SECURITY,
        validate=at_least(0), default=1024 * 1024 * 1024,
        help=(
            "The longest request body, in bytes; a longer one is refused with 413. A "
            "Content-Length over it is refused before the app runs. A chunked body, which "
            "unicorn reads whole (in memory, then a temporary file) before the app runs, is "
            "cut off at it. Zero means no limit. unicorn's own: gunicorn has no such setting."
        ),
        metavar="INT",
    ),
    Setting(
        name="certfile", flags=("--certfile",), section=SSL,
        validate=optional_file, default=None,
        help=(
            "The server's certificate (PEM), followed by any intermediate certificates; "
            "setting it makes every worker speak HTTPS itself, TLS 1.2 and up. "
            "Usually TLS ends at a proxy such as nginx instead."
        ),
        metavar="FILE",
    ),
    Setting(
        name="keyfile", flags=("--keyfile",), section=SSL,
        validate=optional_file, default=None,
        help=(
            "The certificate's private key (PEM). "
            "Not needed when the key is in the certfile. "
            "It is read before the workers drop privileges, so it may be readable by root only."
        ),
        metavar="FILE",
    ),
    Setting(
        name="ca_certs", flags=("--ca-certs",), section=SSL,
        validate=optional_file, default=None,
        help=(
            "The CA certificates (PEM) that client certificates must be signed by, "
            "with --cert-reqs 1 or 2. Without it, the system's CAs are trusted."
        ),
        metavar="FILE",
    ),
    Setting(
        name="cert_reqs", flags=("--cert-reqs",), section=SSL,
        validate=cert_requirement, default=0,
        help=(
            "Whether clients must show a certificate: 0 never asks, 1 checks one if the "
            "client sends it, 2 refuses clients without a valid one "
            "(ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED)."
        ),
        metavar="INT",
    ),
    Setting(
        name="ciphers", flags=("--ciphers",), section=SSL,
        validate=optional_text, default=None,
        help=(
            "The TLS 1.2 cipher suites to allow, as an OpenSSL cipher list. "
            "By default the ssl module's own list, which is chosen to be strong."
        ),
        metavar="STRING",
    ),
    Setting(
        name="do_handshake_on_connect", flags=("--do-handshake-on-connect",), section=SSL,
        validate=boolean, default=False,
        help=(
            "Do the TLS handshake as soon as the sync or gevent worker accepts a connection, "
            "rather than within its first read. Either way it is done before the request is "
            "read; the gthread worker always does it in its event loop, without blocking."
        ),
        action="store_true",
    ),
    Setting(
        name="reload", flags=("--reload",), section=DEBUGGING,
        validate=boolean, default=False,
        help=(
            "Restart the workers whenever a source file of the application changes. "
            "Meant for development, and incompatible with preload_app."
        ),
        action="store_true",
    ),
    Setting(
        name="reload_extra_files", flags=("--reload-extra-file",), section=DEBUGGING,
        validate=text_list, default=[],
        help=(
            "Further files, such as templates, whose changes also trigger a reload. "
            "Repeat the flag for several."
        ),
        action="append",
        metavar="FILE",
    ),
    Setting(
        name="check_config", flags=("--check-config",), section=DEBUGGING,
        validate=boolean, default=False,
        help="Load the configuration and the application, then exit: 0 if both load, 1 if not.",
        action="store_true",
    ),
    Setting(
        name="print_config", flags=("--print-config",), section=DEBUGGING,
        validate=boolean, default=False,
        help="Print every setting with its final value, one per line, then exit.",
        action="store_true",
    ),
    Setting(
        name="explain", flags=("--explain",), section=DEBUGGING,
        validate=boolean, default=False,
        help=(
            "Narrate every process-level event in plain English, naming the book chapter "
            "that explains it."
        ),
        action="store_true",
    ),
    Setting(
        name="preload_app", flags=("--preload",), section=SERVER_MECHANICS,
        validate=boolean, default=False,
        help=(
            "Import the application in the master before forking, so workers share its memory "
            "and start faster, at the price of reloading code only by restarting the master."
        ),
        action="store_true",
    ),
    Setting(
        name="sendfile", flags=("--no-sendfile",), section=SERVER_MECHANICS,
        validate=boolean, default=True,
        help=(
            "With --no-sendfile (sendfile = False in a config file), file responses are copied "
            "through unicorn instead of sent by the sendfile() system call. "
            "The SENDFILE environment variable (yes, true, 1 or y) sets the default."
        ),
        action="store_false",
    ),
    Setting(
        name="reuse_port", flags=("--reuse-port",), section=SERVER_MECHANICS,
        validate=boolean, default=False,
        help="Set SO_REUSEPORT on listening sockets, so several servers may bind one port.",
        action="store_true",
    ),
    Setting(
        name="chdir", flags=("--chdir",), section=SERVER_MECHANICS,
        validate=directory, default=".",
        help="The directory to change into before loading the application.",
        metavar="DIR",
    ),
    Setting(
        name="daemon", flags=("-D", "--daemon"), section=SERVER_MECHANICS,
        validate=boolean, default=False,
        help="Detach from the terminal and run in the background.",
        action="store_true",
    ),
    Setting(
        name="raw_env", flags=("-e", "--env"), section=SERVER_MECHANICS,
        validate=environment_list, default=[],
        help=(
            "Environment variables, each KEY=VALUE, to set in the server's environment. "
            "Repeat the flag for several."
        ),
        action="append",
        metavar="ENV",
    ),
    Setting(
        name="pidfile", flags=("-p", "--pid"), section=SERVER_MECHANICS,
        validate=optional_text, default=None,
        help="A file to write the master's process id to. By default none is written.",
        metavar="FILE",
    ),
    Setting(
        name="worker_tmp_dir", flags=("--worker-tmp-dir",), section=SERVER_MECHANICS,
        validate=optional_directory, default=None,
        help=(
            "The directory for the files that carry worker heartbeats. "
            "By default the system's temporary directory; a memory-backed one avoids disk stalls."
        ),
        metavar="DIR",
    ),
    Setting(
        name="user", flags=("-u", "--user"), section=SERVER_MECHANICS,
        validate=user_id, default=None,
        help=(
            "The user, by name or number, that worker processes switch to. "
            "By default they keep the user unicorn was started as."
        ),
        metavar="USER",
    ),
    Setting(
        name="group", flags=("-g", "--group"), section=SERVER_MECHANICS,
        validate=group_id, default=None,
        help=(
            "The group, by name or number, that worker processes switch to. "
            "By default they keep the group unicorn was started with."
        ),
        metavar="GROUP",
    ),
    Setting(
        name="initgroups", flags=("--initgroups",), section=SERVER_MECHANICS,
        validate=boolean, default=False,
        help=(
            "Give workers that switch user the supplementary groups /etc/group lists for "
            "that user. By default a worker that switches user or group keeps no "
            "supplementary groups, so none of root's are left over."
        ),
        action="store_true",
    ),
    Setting(
        name="umask", flags=("-m", "--umask"), section=SERVER_MECHANICS,
        validate=file_mode, default=0,
        help=(
            "The file mode mask for the unix socket files unicorn binds, which decides who "
            "may connect to them. Written as in the shell, so 022 is octal."
        ),
        metavar="INT",
    ),
    Setting(
        name="pythonpath", flags=("--pythonpath",), section=SERVER_MECHANICS,
        validate=optional_text, default=None,
        help="Comma-separated directories to put at the front of the import path.",
        metavar="STRING",
    ),
    Setting(
        name="secure_scheme_headers", flags=(), section=SERVER_MECHANICS,
        validate=header_values,
        default={"X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https",
                 "X-FORWARDED-SSL": "on"},
        help=(
            "The headers, and their exact values (case-sensitive), by which a proxy listed in "
            "forwarded_allow_ips says that a request arrived over HTTPS; wsgi.url_scheme is then "
            "'https'. Headers that are present and disagree are refused with 400. "
            "Config file only, as in gunicorn."
        ),
    ),
    Setting(
        name="forwarded_allow_ips", flags=("--forwarded-allow-ips",), section=SERVER_MECHANICS,
        validate=address_list, default="127.0.0.1,::1",
        help=(
            "Comma-separated addresses or networks of the proxies trusted to say, through "
            "headers such as X-Forwarded-Proto, that a request arrived over HTTPS. "
            "'*' trusts everyone. The FORWARDED_ALLOW_IPS environment variable sets the default."
        ),
        metavar="STRING",
    ),
    Setting(
        name="accesslog", flags=("--access-logfile",), section=LOGGING,
        validate=optional_text, default=None,
        help=(
            "The file to write one line per request to; '-' means standard output. "
            "By default no access log is written."
        ),
        metavar="FILE",
    ),
    Setting(
        name="access_log_format", flags=("--access-logformat",), section=LOGGING,
        validate=text, default=DEFAULT_ACCESS_FORMAT,
        help=(
            "The format of an access log line, with gunicorn's %(name)s atoms: h is the client "
            "address, t the time, r the request line, s the status and b the body length."
        ),
        metavar="STRING",
    ),
    Setting(
        name="errorlog", flags=("--error-logfile", "--log-file"), section=LOGGING,
        validate=text, default="-",
        help="The file to write the server's own messages to; '-' means standard error.",
        metavar="FILE",
    ),
    Setting(
        name="loglevel", flags=("--log-level",), section=LOGGING,
        validate=log_level, default="info",
        help=(
            "The least important messages to write to the error log: "
            "debug, info, warning, error or critical."
        ),
        metavar="LEVEL",
    ),
    Setting(
        name="capture_output", flags=("--capture-output",), section=LOGGING,
        validate=boolean, default=False,
        help=(
            "Send what the application prints to standard output and standard error into "
            "the error log file."
        ),
        action="store_true",
    ),
    Setting(
        name="logconfig_dict", flags=(), section=LOGGING,
        validate=dictionary, default={},
        help=(
            "A dictionary in the format of logging.config.dictConfig that replaces "
            "unicorn's own logging setup. Config file only."
        ),
    ),
    Setting(
        name="statsd_host", flags=("--statsd-host",), section=LOGGING,
        validate=statsd_address, default=None,
        help=(
            "The HOST:PORT of a statsd daemon to send metrics to over UDP: request counts, "
            "status codes, request durations and the number of workers. "
            "The port defaults to 8125. By default no metrics are sent."
        ),
        metavar="HOST:PORT",
    ),
    Setting(
        name="statsd_prefix", flags=("--statsd-prefix",), section=LOGGING,
        validate=text, default="",
        help=(
            "A prefix for every metric name, such as 'myapp' for 'myapp.unicorn.requests'; "
            "the dot is added for you."
        ),
        metavar="PREFIX",
    ),
    Setting(
        name="proc_name", flags=("-n", "--name"), section=PROCESS_NAMING,
        validate=optional_text, default=None,
        help=(
            "A name to tell this server's processes apart from another's in ps and top, "
            "where the operating system allows renaming a process."
        ),
        metavar="STRING",
    ),
    hook("on_starting", ("server",), "in the master, before it opens its sockets."),
    hook("on_reload", ("server",), "in the master, when SIGHUP asks it to reload."),
    hook("when_ready", ("server",), "in the master, once the sockets are open and the "
                                    "first workers are about to start."),
    hook("pre_fork", ("server", "worker"), "in the master, just before it forks a worker."),
    hook("post_fork", ("server", "worker"), "in the new worker process, just after the fork."),
    hook("post_worker_init", ("worker",), "in the worker, once it has loaded the application."),
    hook("worker_int", ("worker",), "in the worker, when SIGINT or SIGQUIT tells it to stop."),
    hook("worker_abort", ("worker",), "in the worker, when SIGABRT arrives, usually because "
                                      "the master saw its heartbeat go silent."),
    hook("pre_exec", ("server",), "in a child of the master, just before it executes a fresh "
                                  "unicorn on USR2."),
    hook("pre_request", ("worker", "req"), "in the worker, before the application sees a "
                                           "request."),
    hook("post_request", ("worker", "req", "environ", "resp"),
         "in the worker, after the application has answered a request."),
    hook("child_exit", ("server", "worker"), "in the master, after it has reaped a worker."),
    hook("worker_exit", ("server", "worker"), "in the worker, as it exits."),
    hook("nworkers_changed", ("server", "new_value", "old_value"),
         "in the master, when the number of workers changes, for example on TTIN or TTOU; "
         "old_value is None the first time."),
    hook("on_exit", ("server",), "in the master, just before it exits."),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}

# Platforms announce some defaults through the environment: (variable, setting, to raw value).
ENVIRONMENT_DEFAULTS: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("PORT", "bind", lambda port: [f"0.0.0.0:{port}"]),
    ("WEB_CONCURRENCY", "workers", str),
    ("FORWARDED_ALLOW_IPS", "forwarded_allow_ips", str),
    ("SENDFILE", "sendfile", lambda flag: flag.strip().lower() in ("y", "1", "yes", "true")),
)
