"""What compare.py measures: the server setups, and the load each scenario puts on them.

A Setup is how both servers are started (the same settings for each); a
Scenario is one wrk load against a setup. The table of scenarios is the
list in bench/README.md; each row there is one entry here.
"""

from dataclasses import dataclass, field

from apps import MIB

QUIET = ["--log-level", "warning"]


@dataclass(frozen=True)
class Setup:
    """How unicorn and gunicorn are both started for a group of scenarios."""

    name: str
    settings: list[str] = field(hash=False)
    app: str = "apps:app"


SYNC = Setup("sync", ["-k", "sync", "-w", "2", *QUIET])
GTHREAD = Setup("gthread", ["-k", "gthread", "-w", "2", "--threads", "4",
                            "--keep-alive", "5", *QUIET])
# Large bodies, with the default worker: a sync worker reads and writes with
# plain blocking calls, so the server's copying is all there is to measure.
BODIES = Setup("bodies", ["-k", "sync", "-w", "2", *QUIET], app="apps:bodies")
SETUPS = [SYNC, GTHREAD, BODIES]


@dataclass(frozen=True)
class Scenario:
    """One wrk load: its key (for JSON), the table's words, and how wrk is run."""

    key: str
    title: str
    setup: Setup
    connections: int = 16
    close: bool = False  # send Connection: close, so each request opens a connection
    via_nginx: bool = False  # through nginx with its default upstream settings
    path: str = "/"
    post_bytes: int = 0  # POST a body of this many bytes instead of GET


SCENARIOS = [
    Scenario("sync-close", "sync, close, 16 conns", SYNC, close=True),
    Scenario("sync-close-nginx", "sync, via nginx, 16 conns", SYNC, via_nginx=True),
    Scenario("gthread-keepalive-16", "gthread, keep-alive, 16 conns", GTHREAD),
    Scenario("gthread-keepalive-64", "gthread, keep-alive, 64 conns", GTHREAD, connections=64),
    Scenario("gthread-close", "gthread, close, 16 conns", GTHREAD, close=True),
    Scenario("gthread-close-nginx", "gthread, via nginx, 16 conns", GTHREAD, via_nginx=True),
    Scenario("post-1mib", "POST 1 MiB read by the app", BODIES, connections=4,
             path="/upload", post_bytes=MIB),
    Scenario("stream-10mib", "10 MiB streamed response", BODIES, connections=4,
             path="/stream"),
    Scenario("file-10mib", "10 MiB wsgi.file_wrapper file", BODIES, connections=4,
             path="/file"),
]
