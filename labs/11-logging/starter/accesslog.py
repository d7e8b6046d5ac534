"""Lab 11a: access log lines, from a format string and a finished request.

Keep the interface (names, arguments, return values); write the bodies that raise
NotImplementedError. Read labs/11-logging/README.md first.
Run: python -m unicorn.labs check 11 --part a
"""

import time

# Apache's "combined" format, unicorn's and gunicorn's default.
DEFAULT_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# The time as %(t)s shows it, brackets included: [21/Nov/2026:10:00:00 +0000]
TIME_FORMAT = "[%d/%b/%Y:%H:%M:%S %z]"


def escape(text: str) -> str:
    """One atom made safe for one log line: '"' and '\\' get a backslash, and every character
    that is not printable ASCII becomes \\xHH (WSGI strings are latin-1: HH is the byte)."""
    raise NotImplementedError("Lab 11a: backslash quotes and backslashes, \\xHH the rest")


class AccessRecord:
    """A finished request, seen as the mapping that `log_format % record` reads.

    `%` calls record["h"], record["{user-agent}i"], ... once for each %(name)s in the format,
    so __getitem__ computes only the atoms the format uses.
    """

    def __init__(self, environ: dict, status: str, response_headers: list[tuple[str, str]],
                 sent: int | None, request_time: float) -> None:
        self.environ = environ  # the WSGI environ of the request
        self.status = status  # "200 OK"
        self.response_headers = response_headers  # [("Content-Type", "text/plain"), ...]
        self.sent = sent  # body bytes sent, or None when the response never started
        self.request_time = request_time  # seconds, a float

    def __getitem__(self, name: str) -> str:
        """The value of atom `name`, escaped: h l u t r s b f a M, {header}i, {header}o;
        '-' for anything unknown or missing."""
        raise NotImplementedError("Lab 11a: compute the atom `name` from the request")


def time_now() -> str:
    """The %(t)s atom: now, in local time, in TIME_FORMAT."""
    return time.strftime(TIME_FORMAT)


def access_line(log_format: str, environ: dict, status: str,
                response_headers: list[tuple[str, str]], sent: int | None,
                request_time: float) -> str:
    """One access log line for a finished request."""
    return log_format % AccessRecord(environ, status, response_headers, sent, request_time)
