"""The error log, the access log, and the --explain narration.

Built on the standard logging module, through two named loggers:
unicorn.error and unicorn.access. --explain narrates each process-level
event in one line that names the book chapter explaining it.

Explained in the chapter "Logging".
gunicorn: gunicorn/glogging.py.
Left out: syslog, and logconfig files (ini or JSON); only logconfig_dict is supported.
statsd metrics are sent by unicorn.statsd, beside the access log.
"""

import base64
import logging
import logging.config
import os
import sys
import time

ERROR_LOGGER = "unicorn.error"
ACCESS_LOGGER = "unicorn.access"

# gunicorn's error line: [2026-11-21 10:00:00 +0000] [1234] [INFO] message
ERROR_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
ERROR_DATE_FORMAT = "[%Y-%m-%d %H:%M:%S %z]"

# Apache's "combined" format, gunicorn's default.
DEFAULT_ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# Apache's request-time format, brackets included, as %(t)s shows it.
ACCESS_TIME_FORMAT = "[%d/%b/%Y:%H:%M:%S %z]"

LOG_LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


# --- Access log atoms ------------------------------------------------------------------------


def _environ(key: str):
    """An atom that shows one environ value, or '-' when the request has none."""
    return lambda request: request.environ.get(key, "-")


# Each one-letter atom of access_log_format, and how to compute it from an AccessRecord.
ATOMS = {
    "h": _environ("REMOTE_ADDR"),
    "l": lambda request: "-",  # identd user: nobody runs identd any more
    "u": lambda request: basic_auth_user(request.environ) or "-",
    "t": lambda request: time.strftime(ACCESS_TIME_FORMAT),
    "r": lambda request: request.request_line(),
    "s": lambda request: request.status.split(None, 1)[0],
    "m": _environ("REQUEST_METHOD"),
    "U": _environ("PATH_INFO"),
    "q": _environ("QUERY_STRING"),
    "H": _environ("SERVER_PROTOCOL"),
    "b": lambda request: "-" if request.sent is None else str(request.sent),  # as gunicorn
    "B": lambda request: request.sent or 0,
    "f": _environ("HTTP_REFERER"),
    "a": _environ("HTTP_USER_AGENT"),
    "T": lambda request: int(request.request_time),
    "D": lambda request: int(request.request_time * 1_000_000),
    "M": lambda request: int(request.request_time * 1_000),
    "L": lambda request: f"{request.request_time:.6f}",
    "p": lambda request: f"<{os.getpid()}>",
}


class AccessRecord:
    """One finished request, seen as the mapping that `access_log_format % record` reads.

    The % operator looks up each %(name)s in turn, so an atom is computed only if the format
    uses it. Besides the ATOMS, names of the form {header}i, {header}o and {variable}e read a
    request header, a response header and an environ variable, case-insensitively.
    An unknown name yields '-' rather than KeyError: a typo in the format must not fail requests.
    """

    def __init__(self, environ, status, response_headers, sent, request_time):
        self.environ = environ
        self.status = status  # "200 OK"
        self.response_headers = response_headers  # [(name, value), ...]
        self.sent = sent  # body bytes written, or None if the response never started
        self.request_time = request_time  # seconds, as a float

    def __getitem__(self, name: str):
        value = self._lookup(name)
        return escape(value) if isinstance(value, str) else value

    def _lookup(self, name: str):
        if name in ATOMS:
            return ATOMS[name](self)
        if len(name) > 3 and name[0] == "{" and name[-2] == "}":
            key, source = name[1:-2], name[-1]
            if source == "i":
                return self.request_header(key)
            if source == "o":
                return self.response_header(key)
            if source == "e":
                return self.environ_variable(key)
        return "-"

    def request_line(self) -> str:
        """The request line as the client sent it, e.g. "GET /a?b=1 HTTP/1.1"."""
        uri = self.environ.get("RAW_URI")
        if uri is None:  # an environ from another server: rebuild the target from its parts
            query = self.environ.get("QUERY_STRING")
            uri = self.environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        method = self.environ.get("REQUEST_METHOD", "-")
        return f"{method} {uri} {self.environ.get('SERVER_PROTOCOL', '-')}"

    def request_header(self, name: str) -> str:
        """A request header, found where PEP 3333 puts it: HTTP_<NAME>, except two CGI names."""
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return self.environ.get(key, "-")

    def response_header(self, name: str) -> str:
        values = [value for key, value in self.response_headers if key.lower() == name.lower()]
        return ", ".join(values) if values else "-"

    def environ_variable(self, name: str) -> str:
        if name in self.environ:
            return str(self.environ[name])
        for key, value in self.environ.items():
            if key.lower() == name.lower():
                return str(value)
        return "-"


def basic_auth_user(environ: dict) -> str | None:
    """The user name of an "Authorization: Basic <base64 user:password>" header (RFC 7617)."""
    scheme, _, credentials = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        return None
    return decoded.split(b":", 1)[0].decode("utf-8", errors="replace")


def escape(text: str) -> str:
    """Make one atom safe inside one log line, as Apache does.

    Header values are chosen by the client; a quote would break the quoted fields, and a newline
    would let a client forge a whole log line. So '"' and '\\' get a backslash and anything that is
    not printable ASCII becomes \\xHH (WSGI strings hold bytes as latin-1, so HH is the raw byte).
    """
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    return "".join(_escape_char(char) for char in text)


def _escape_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char.isascii() and char.isprintable():
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


# --- Logger ----------------------------------------------------------------------------------


class Logger:
    """The server's logs, built from plain settings.

    One Logger per process: building a new one (a HUP reload does) takes over the two named loggers
    and closes the handlers the previous one installed. Forked workers inherit it as it is.
    """

    def __init__(
        self,
        errorlog: str = "-",
        loglevel: str = "info",
        accesslog: str | None = None,
        access_log_format: str = DEFAULT_ACCESS_FORMAT,
        capture_output: bool = False,
        logconfig_dict: dict | None = None,
        explain: bool = False,
        proc_name: str = "unicorn",
    ):
        if loglevel.lower() not in LOG_LEVELS:
            raise ValueError(f"unknown loglevel {loglevel!r}; choose from {', '.join(LOG_LEVELS)}")
        self.errorlog = errorlog  # '-' is stderr, anything else a file path
        self.accesslog = accesslog  # None is off, '-' is stdout, anything else a file path
        self.access_log_format = access_log_format
        self.capture_output = capture_output  # send print() and tracebacks to the errorlog file
        self.explaining = explain  # narrate what the server does, with the book chapter to read
        self.proc_name = proc_name  # the name ps shows; gunicorn's syslog prefix (left out here)
        self.error_log = logging.getLogger(ERROR_LOGGER)
        self.access_log = logging.getLogger(ACCESS_LOGGER)
        self._reset_loggers(LOG_LEVELS[loglevel.lower()])
        if capture_output and errorlog != "-":
            self._capture_output()
        configured = self._apply_logconfig(logconfig_dict or {})
        if ERROR_LOGGER not in configured:
            error_format = logging.Formatter(ERROR_FORMAT, ERROR_DATE_FORMAT)
            self._add_handler(self.error_log, errorlog, sys.stderr, error_format)
        if ACCESS_LOGGER not in configured and accesslog is not None:
            access_format = logging.Formatter("%(message)s")
            self._add_handler(self.access_log, accesslog, sys.stdout, access_format)
        # Workers read this before building a request's atoms, to skip the work when nobody reads.
        self.access_log_enabled = accesslog is not None or ACCESS_LOGGER in configured

    # The error log, with logging's printf-style arguments: log.info("Booting worker %s", pid).

    def debug(self, msg, *args, **kwargs):
        self.error_log.debug(msg, *args, **kwargs)

    def info(self, msg, *args, **kwargs):
        self.error_log.info(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        self.error_log.warning(msg, *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        self.error_log.error(msg, *args, **kwargs)

    def critical(self, msg, *args, **kwargs):
        self.error_log.critical(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        """Log at ERROR with the traceback of the exception being handled."""
        self.error_log.exception(msg, *args, **kwargs)

    def explain(self, message: str, chapter: str) -> None:
        """With --explain, narrate one step and name the book chapter that explains it.

        The line goes to the error log at INFO whatever --log-level says: a student who asked
        for the story should not also have to lower the log level to see it.
        """
        if not self.explaining:
            return
        line = f'[explain] {message} (book: "{chapter}")'
        record = self.error_log.makeRecord(ERROR_LOGGER, logging.INFO, "", 0, line, (), None)
        self.error_log.handle(record)  # handle() skips the logger's level check, info() would not

    def access(
        self,
        environ: dict,
        status: str,
        response_headers: list[tuple[str, str]],
        sent: int | None,
        request_time: float,
    ) -> None:
        """Write one access log line for a finished request."""
        if not self.access_log_enabled:
            return
        record = AccessRecord(environ, status, response_headers, sent, request_time)
        try:
            line = self.access_log_format % record
        except (TypeError, ValueError):
            self.exception("Bad access_log_format %r", self.access_log_format)
            return
        self.access_log.info("%s", line)

    def reopen_files(self, uid: int | None = None, gid: int | None = None) -> None:
        """Close and reopen every log file, for USR1 after logrotate has renamed them.

        Until then we keep writing to the renamed file: an open fd follows the inode, not the name.
        Every FileHandler in the process is reopened, the application's included;
        stderr and stdout are left alone, they are not ours to reopen.
        The master reopens first, often as root, and so creates any file logrotate did not;
        it passes the workers' ``uid`` and ``gid`` to hand such a file to the user the workers
        run as, or their own reopen a moment later would be refused.
        A file that cannot be reopened is reported and the old one kept: losing the log's new
        name is better than losing the worker, and the request it is serving.
        """
        if self.capture_output and self.errorlog != "-":
            self._capture_output()
        for handler in _file_handlers():
            try:
                _reopen(handler)
                if uid is not None or gid is not None:
                    os.chown(handler.baseFilename, -1 if uid is None else uid,
                             -1 if gid is None else gid)
            except OSError as error:
                self.error(f"Cannot reopen {handler.baseFilename}, still writing to the old "
                           f"file: {error}")

    # --- setup ---

    def _reset_loggers(self, level: int) -> None:
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
                handler.close()
            # Our lines are complete as they are; the root logger must not print them a second time.
            logger.propagate = False
        self.error_log.setLevel(level)
        self.access_log.setLevel(logging.INFO)

    def _add_handler(self, logger, destination: str, dash_stream, formatter) -> None:
        if destination == "-":
            handler = logging.StreamHandler(dash_stream)
        else:
            # Append mode (O_APPEND): every process sharing the file writes at its current end,
            # so the master's and the workers' lines interleave instead of overwriting each other.
            handler = logging.FileHandler(destination, mode="a")
        handler.setFormatter(formatter)
        logger.addHandler(handler)

    def _apply_logconfig(self, logconfig_dict: dict) -> set[str]:
        """Apply a logging.config.dictConfig dictionary; return the logger names it configured."""
        if not logconfig_dict:
            return set()
        config = {"version": 1, "disable_existing_loggers": False, **logconfig_dict}
        try:
            logging.config.dictConfig(config)
        except (ValueError, TypeError, AttributeError, ImportError) as exc:
            raise ValueError(f"logconfig_dict: {exc}") from exc
        return set(config.get("loggers", {}))

    def _capture_output(self) -> None:
        """Point fds 1 and 2 at the errorlog file, so print() and C-level writes land there too."""
        sys.stdout.flush()
        sys.stderr.flush()
        fd = os.open(self.errorlog, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.dup2(fd, 1)  # stdout
            os.dup2(fd, 2)  # stderr
        finally:
            os.close(fd)


def _file_handlers() -> list[logging.FileHandler]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)  # skip placeholders for names never used
    ]
    handlers = [h for logger in loggers for h in logger.handlers]
    return list({h for h in handlers if isinstance(h, logging.FileHandler)})


def _reopen(handler: logging.FileHandler) -> None:
    handler.acquire()  # a worker thread may be writing through this handler right now
    try:
        if handler.stream is None:  # opened lazily (delay=True); it will open the new file itself
            return
        # Open the new file before closing the old one: if the open fails, nothing is lost.
        stream = open(
            handler.baseFilename, handler.mode, encoding=handler.encoding, errors=handler.errors
        )
        handler.stream.close()
        handler.stream = stream
    finally:
        handler.release()
