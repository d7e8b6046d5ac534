"""Broken: access log atoms escape '"' and nothing else, as gunicorn's SafeAtoms does.

A client chooses its User-Agent, Referer and every request header. With only quotes escaped,
a newline in one of them ends the line and starts a forged one ("127.0.0.1 - admin ..."), a
backslash at the end of a value turns the closing quote into an escaped one, so the field runs
on into the next, and terminal escape sequences repaint the screen of whoever runs `tail -f`.
unicorn escapes as Apache does: '"' and '\\' get a backslash, everything not printable ASCII
becomes \\xHH.
"""

from unicorn.labs.reference.lab11.accesslog import DEFAULT_FORMAT, TIME_FORMAT, unicorn_log

REPLACES = "accesslog"
CAUGHT_BY = ("test_11a_client_text_is_escaped", "test_11a_any_user_agent_stays_one_quoted_field")
__all__ = ["DEFAULT_FORMAT", "TIME_FORMAT", "access_line", "escape"]


def escape(text: str) -> str:
    return text.replace('"', '\\"')  # the mistake


def access_line(log_format, environ, status, response_headers, sent, request_time) -> str:
    class QuotesOnlyRecord(unicorn_log().AccessRecord):
        def __getitem__(self, name):
            value = self._lookup(name)  # unicorn's atom, before its escaping
            return escape(value) if isinstance(value, str) else value

    return log_format % QuotesOnlyRecord(environ, status, response_headers, sent, request_time)
