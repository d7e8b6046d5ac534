"""Where unicorn and gunicorn answer the request corpus differently, as a table.

Run by `nox -s parity` (which installs gunicorn 27.0.1), or by hand with
gunicorn installed: ``python -m tests.parity --output tests/requests/PARITY.md``.

Both servers are started fresh on free ports, serving the same app
(tests/apps/server_apps.py) with the same worker model. Every case of
tests/requests/ is sent whole over a socket to each, our side of the
connection is shut, and the statuses of the responses that come back before
the server closes are the server's answer. Where the two answers differ, the
case must be covered by an item of tests/requests/DIFFERENCES.md, whose
first words say why (gunicorn lax, gunicorn strict, or our choice); the
table lists every such case with that reason, and a case that differs
without one makes the run fail.

Only statuses are compared, not bodies or the environ the app saw: a
difference that changes neither the status nor the number of answers (the
PATH_INFO of a CONNECT, say) is described in DIFFERENCES.md but cannot be
seen here.
"""

import argparse
import datetime
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.parser_harness import load_cases

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "apps"
DIFFERENCES = ROOT / "tests" / "requests" / "DIFFERENCES.md"
GUNICORN_SECTION = "## Differences from gunicorn 27.0.1"
# An item: "- **Title.** (kind) text ... [`invalid/001_x`, `valid/002_y` to `valid/009_z`]".
ITEM_RE = re.compile(r"^- \*\*(?P<title>.+?)\*\* \((?P<kind>[^)]+)\)(?P<text>.*?)(?=^- |\Z)",
                     re.M | re.S)
CASES_RE = re.compile(r"\[(`[^\]]+`)\]\s*$")
KINDS = ("gunicorn lax", "gunicorn strict", "our choice")
STATUS_LINE_RE = re.compile(rb"HTTP/\d\.\d (\d{3})[^\r\n]*\r\n")  # gunicorn echoes "HTTP/1.2"
READ_TIMEOUT = 5.0  # seconds a server may take to answer and close


# -- the reasons, from DIFFERENCES.md ------------------------------------------------------


@dataclass
class Reason:
    title: str
    kind: str  # one of KINDS

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


def reasons_by_case(text: str, names: list[str]) -> dict[str, Reason]:
    """Map each corpus case named in the gunicorn section to its item's reason.

    ``names`` is the whole corpus in sorted order, so that "`a` to `b`"
    stands for every case from a to b.
    """
    section = text.split(GUNICORN_SECTION, 1)[1]
    found = {}
    for item in ITEM_RE.finditer(section):
        kind = item["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} in DIFFERENCES.md: {item['title']}")
        reason = Reason(item["title"].rstrip("."), kind)
        for name in named_cases(item["text"], names):
            found[name] = reason
    return found


def named_cases(text: str, names: list[str]) -> list[str]:
    """The cases an item names at its end: `x`, or `x` to `y` for a run of them."""
    match = CASES_RE.search(text.strip())
    if match is None:
        return []
    cases = []
    for part in match.group(1).split(","):
        ends = re.findall(r"`([^`]+)`", part)
        first, last = names.index(ends[0]), names.index(ends[-1])
        cases += names[first:last + 1]
    return cases


# -- the servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(module: str, worker: str) -> tuple[subprocess.Popen, int]:
    """Start ``python -m module`` on a free port with the corpus app; wait until it answers."""
    port = free_port()
    command = [sys.executable, "-m", module, "-b", f"127.0.0.1:{port}", "-w", "1",
               "-k", worker, "--threads", "2", "server_apps:app"]
    environ = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's unicorn, installed or not
    process = subprocess.Popen(command, cwd=APPS, env=environ, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{module} did not start on port {port}")


def answer(port: int, raw: bytes) -> tuple[int, ...]:
    """Send raw, shut our side, and return the final statuses sent before the close.

    1xx interim responses (100 Continue) are left out; () means "closed
    without an answer".
    """
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server refused and closed before taking all of it
        received = bytearray()
        try:
            while data := sock.recv(65536):
                received += data
        except OSError:
            pass  # reset, or silent for READ_TIMEOUT: what came before still counts
    return tuple(status for status in statuses(bytes(received)) if status >= 200)


def statuses(data: bytes) -> list[int]:
    """The status of each response in ``data``, found by walking their framing."""
    found = []
    while (match := STATUS_LINE_RE.match(data)) is not None:
        found.append(int(match.group(1)))
        head_end = data.find(b"\r\n\r\n")
        if head_end == -1:
            break
        head, data = data[:head_end], data[head_end + 4:]
        length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
        if found[-1] < 200 or found[-1] in (204, 304):
            continue
        if length is not None:
            data = data[int(length.group(1)):]
        elif re.search(rb"\r\ntransfer-encoding: *chunked", head, re.I):
            data = after_chunks(data)
        else:
            break  # the body runs to the close
    return found


def after_chunks(data: bytes) -> bytes:
    """What follows a chunked body (gunicorn chunks an app's list of bytes)."""
    while (line_end := data.find(b"\r\n")) != -1:
        size = int(data[:line_end].split(b";")[0], 16)
        data = data[line_end + 2 + size + 2:]
        if size == 0:
            return data
    return b""


# -- the table ---------------------------------------------------------------------------------


def compare(worker: str) -> list[tuple[str, tuple, tuple]]:
    """(case, unicorn's answer, gunicorn's answer) for every case where they differ."""
    cases = load_cases("valid") + load_cases("invalid")
    servers = {name: start(name, worker) for name in ("unicorn", "gunicorn")}
    try:
        differing = []
        for case in cases:
            ours, theirs = (answer(servers[name][1], case.raw) for name in ("unicorn", "gunicorn"))
            if ours != theirs:
                differing.append((case.name, ours, theirs))
        return differing
    finally:
        for process, _ in servers.values():
            process.kill()
            process.wait()


def shown(statuses: tuple) -> str:
    return ", ".join(map(str, statuses)) or "*closed*"


def table(differing, reasons: dict[str, Reason], gunicorn_version: str, worker: str) -> str:
    today = datetime.date.today().isoformat()
    lines = [
        f"Generated by `nox -s parity` on {today} against gunicorn {gunicorn_version}, "
        f"both with `-k {worker} --threads 2`.",
        "Each cell lists the statuses of the responses sent before the server closed the "
        "connection; *closed* means it closed without an answer.",
        "The reasons are the items of `tests/requests/DIFFERENCES.md`.",
        "",
        "| case | unicorn | gunicorn | why |",
        "| --- | --- | --- | --- |",
    ]
    for name, ours, theirs in differing:
        why = reasons.get(name, "**no reason in DIFFERENCES.md**")
        lines.append(f"| `{name}` | {shown(ours)} | {shown(theirs)} | {why} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="where to write the table")
    parser.add_argument("--worker", default="gthread", choices=["sync", "gthread"])
    options = parser.parse_args()
    import gunicorn  # here, not at the top: only this script needs it

    names = [case.name for case in load_cases("valid") + load_cases("invalid")]
    reasons = reasons_by_case(DIFFERENCES.read_text(encoding="utf-8"), names)
    differing = compare(options.worker)
    options.output.write_text(table(differing, reasons, gunicorn.__version__, options.worker),
                              encoding="utf-8")
    unexplained = [name for name, _, _ in differing if name not in reasons]
    print(f"{len(differing)} of {len(names)} cases differ; table written to {options.output}")
    if unexplained:
        print("No reason in DIFFERENCES.md for:", *unexplained, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
