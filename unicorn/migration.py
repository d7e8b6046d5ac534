"""Coming from gunicorn: what unicorn says when it meets gunicorn's names.

Readers arrive with gunicorn's commands, unit files and config files. What
unicorn spells differently gets a warning line rather than silence (a
gunicorn.conf.py or GUNICORN_CMD_ARGS nobody reads), and what unicorn leaves
out gets one line naming what to use instead, rather than "unknown option".

Explained in the chapter "Configuration".
gunicorn: the option list of gunicorn/config.py (27.0.1) and gunicorn/workers/__init__.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# gunicorn's options that unicorn leaves out: (flags, what they are for, what to use instead).
LEFT_OUT_OPTIONS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("--paste", "--paster", "--paste-global"), "Paste Deploy files",
     "serve a module that calls paste.deploy.loadapp(), as MODULE:VARIABLE"),
    (("--proxy-protocol", "--proxy-allow-from"), "the PROXY protocol",
     "let nginx accept it and pass X-Forwarded-For on (see --forwarded-allow-ips)"),
    (("--protocol", "--uwsgi-allow-from"), "the uwsgi protocol",
     "unicorn speaks HTTP/1.1: use proxy_pass instead of uwsgi_pass in nginx"),
    (("--http-protocols", "--http2-cleartext", "--http2-max-concurrent-streams",
      "--http2-initial-window-size", "--http2-max-frame-size", "--http2-max-header-list-size"),
     "HTTP/2", "let nginx speak HTTP/2 to clients and HTTP/1.1 to unicorn"),
    (("--asgi-loop", "--asgi-lifespan", "--asgi-disconnect-grace-period",
      "--websocket-max-message-size", "--root-path"), "ASGI applications",
     "unicorn serves WSGI only: run an ASGI app with an ASGI server such as uvicorn "
     "(for a WSGI app's mount point, use -e SCRIPT_NAME=/path)"),
    (("--log-config", "--log-config-json"), "logging configuration files",
     "unicorn supports only logconfig_dict, set in a config file"),
    (("--logger-class",), "replacing the logger class",
     "set logconfig_dict in a config file"),
    (("--log-syslog", "--log-syslog-to", "--log-syslog-prefix", "--log-syslog-facility",
      "--disable-redirect-access-to-syslog"), "logging to syslog",
     "log to standard error and let journald forward it, or put a SysLogHandler "
     "in logconfig_dict"),
    (("--dogstatsd-tags", "--enable-backlog-metric"), "Datadog tags and the backlog metric",
     "unicorn sends plain statsd lines (--statsd-host)"),
    (("--reload-engine",), "choosing a reload engine",
     "unicorn's --reload always polls the files' modification times"),
    (("--spew",), "tracing every executed line", "use a debugger with -w 1"),
    (("-R", "--enable-stdio-inheritance"), "keeping standard output with --daemon",
     "use --capture-output with --error-logfile"),
    (("--permit-obsolete-folding", "--strip-header-spaces", "--permit-unconventional-http-method",
      "--permit-unconventional-http-version", "--casefold-http-method", "--header-map",
      "--http-parser"), "the HTTP parser's switches",
     "unicorn has one strict parser without switches; tests/requests/DIFFERENCES.md lists "
     "what it refuses"),
    (("--forwarder-headers",), "taking SCRIPT_NAME from a proxy's headers",
     "set the mount point with -e SCRIPT_NAME=/path"),
    (("--dirty-app", "--dirty-workers", "--dirty-timeout", "--dirty-threads",
      "--dirty-graceful-timeout"), "dirty workers",
     "run long jobs in a task queue or a service of their own"),
    (("--control-socket", "--control-socket-mode", "--no-control-socket"), "the control socket",
     "send signals to the master (kill -TTIN, -HUP, ...)"),
    (("--ssl-version",), "choosing one TLS version (ignored by gunicorn since 21.0)",
     "unicorn always allows TLS 1.2 and later; narrow it with --ciphers"),
    (("--suppress-ragged-eofs",), "tolerating clients that close without TLS's close_notify",
     "unicorn already treats such a close as the end of the connection"),
)

# gunicorn's worker classes that unicorn leaves out: (names, what they are, what to use instead).
LEFT_OUT_WORKERS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("eventlet",), "the eventlet worker of older gunicorns",
     "use -k gevent for green threads, or -k gthread"),
    (("tornado",), "gunicorn's Tornado worker", "use -k gthread, or run Tornado's own server"),
    (("gevent_wsgi", "gevent_pywsgi"), "a gunicorn worker built on gevent's own WSGI server",
     "use -k gevent, unicorn's green-thread worker"),
    (("asgi", "uvicorn.", "uvicorn_worker."), "an ASGI worker",
     "unicorn serves WSGI only: run an ASGI app with an ASGI server such as uvicorn"),
)


def left_out_option(flag: str) -> str | None:
    """One line for a gunicorn option unicorn does not have, or None for any other flag."""
    for flags, what, instead in LEFT_OUT_OPTIONS:
        if flag in flags:
            return f"{flag} is gunicorn's option for {what}, which unicorn leaves out; {instead}"
    return None


def left_out_worker(name: str) -> str | None:
    """One line for a gunicorn worker class unicorn does not have (a trailing '.' is a prefix)."""
    for names, what, instead in LEFT_OUT_WORKERS:
        if any(name == known or known.endswith(".") and name.startswith(known)
               for known in names):
            return f"{name!r} is {what}, which unicorn leaves out; {instead}"
    return None


def gunicorn_leftovers(environ: Mapping[str, str], config_read: bool) -> list[str]:
    """Warnings for gunicorn's config that unicorn would otherwise ignore without a word."""
    warnings = []
    if not config_read and os.path.isfile("gunicorn.conf.py") \
            and not os.path.isfile("unicorn.conf.py"):
        warnings.append("./gunicorn.conf.py is not read: unicorn reads ./unicorn.conf.py "
                        "(rename it, or pass -c gunicorn.conf.py)")
    if "GUNICORN_CMD_ARGS" in environ and "UNICORN_CMD_ARGS" not in environ:
        warnings.append("GUNICORN_CMD_ARGS is not read: unicorn reads UNICORN_CMD_ARGS")
    return warnings
