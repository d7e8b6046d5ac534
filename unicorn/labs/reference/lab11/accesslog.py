"""Lab 11a's reference: unicorn's own access log atoms and escaping, unicorn/log.py.

unicorn.log.AccessRecord is the mapping that `access_log_format % record` reads, and
unicorn.log.escape is its escaping; the lab's access_line is the one `%` of Logger.access.
"""

DEFAULT_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
TIME_FORMAT = "[%d/%b/%Y:%H:%M:%S %z]"


def unicorn_log():
    """unicorn's logging module. If a rename in unicorn breaks lab 11, fix this line."""
    from unicorn import log

    return log


def escape(text: str) -> str:
    return unicorn_log().escape(text)


def access_line(log_format: str, environ: dict, status: str,
                response_headers: list[tuple[str, str]], sent: int | None,
                request_time: float) -> str:
    record = unicorn_log().AccessRecord(environ, status, response_headers, sent, request_time)
    return log_format % record
