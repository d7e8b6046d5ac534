"""Load one URL with wrk for a few seconds and read what it reports.

wrk (Debian package `wrk`) is a C load generator: it keeps N connections
busy from a few threads, and uses far less CPU per request than a Python
client would, which matters when it shares two cores with the server.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WRK_MISSING = """wrk is not installed. On Debian or Ubuntu install it with:
    apt-get update && apt-get install -y wrk
(on macOS: brew install wrk), then run this again."""
UNITS_IN_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
# A wrk script that POSTs a body of POST_BYTES bytes instead of GETting.
POST_SCRIPT = """wrk.method = "POST"
wrk.body = string.rep("x", {size})
wrk.headers["Content-Type"] = "application/octet-stream"
"""


@dataclass
class Round:
    """What wrk reported for one run against one server."""

    requests_per_second: float
    p99_ms: float
    errors: int  # socket errors (connect, read, write, timeout) plus non-2xx/3xx answers


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit(WRK_MISSING)


def write_post_script(directory: Path, size: int) -> Path:
    path = directory / f"post-{size}.lua"
    path.write_text(POST_SCRIPT.format(size=size))
    return path


def run_wrk(url: str, connections: int, seconds: int, close: bool = False,
            script: Path | None = None) -> Round:
    """One wrk run; ``close`` sends ``Connection: close``, so every request is a new connection."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if close:
        command += ["-H", "Connection: close"]
    if script is not None:
        command += ["-s", str(script)]
    # wrk stops itself after `seconds`; the timeout only guards against a hang.
    finished = subprocess.run([*command, url], capture_output=True, text=True, check=False,
                              timeout=seconds + 30)
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed ({finished.returncode}): {finished.stderr.strip()}")
    return parse_wrk(finished.stdout)


def parse_wrk(output: str) -> Round:
    """Pull requests/s, the 99th percentile latency and the error counts from wrk's text."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    errors = 0
    socket_errors = re.search(r"Socket errors:(.*)", output)
    if socket_errors:
        errors += sum(int(count) for count in re.findall(r"\d+", socket_errors.group(1)))
    bad_status = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad_status:
        errors += int(bad_status.group(1))
    return Round(float(rate.group(1)), float(p99.group(1)) * UNITS_IN_MS[p99.group(2)], errors)
