"""The ``run`` directive: run real commands while the book builds, and show what they printed.

A chapter never pastes the output of a command: it names the command, and the build runs it.
When the code changes, the output in the book changes with it, and a command that starts
failing stops the build (a non-zero exit is shown, never hidden).

    ```{run}
    :server: python -m unicorn -w 2 -b 127.0.0.1:{port} --chdir examples hello:app
    :server-log:

    curl -si http://127.0.0.1:{port}/
    @wait 2 Booting worker
    ps --forest -o pid,ppid,args --sid {pid}
    @stop
    ```

``:server:`` starts one command in the background, in its own session, and waits until it
says "Listening at". Each content line is a shell command run from the repository root, shown
as ``$ command`` followed by its output. Lines that start with ``@`` steer the run and are not
shown: ``@wait [N] REGEX`` waits until N lines of the server's log match, ``@stop`` sends the
server TERM and waits for it to exit, ``@signal NAME`` sends it a signal.
``:server-log:`` shows the server's own log after the commands' output.
In commands and in ``:server:``, ``{port}`` is a free TCP port, ``{pid}`` the server's pid,
and ``{tmp}`` a fresh temporary directory. They are filled in with ``str.format``, so a
literal brace in a command is written twice: ``awk '{{print $1}}'``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 30  # seconds; a command that takes longer is a broken example
READY_TIMEOUT = 60  # generous: a loaded machine is slow; only a broken example waits this long


class RunFailed(Exception):
    """A command in a ``run`` block did not behave; the build stops with this message."""


def free_port() -> int:
    """Ask the kernel for a port nobody uses; the server binds it a moment later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def python_on_path(directory: Path) -> dict[str, str]:
    """An environment in which ``python`` is the interpreter building the book."""
    (directory / "python").symlink_to(sys.executable)
    environ = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", COLUMNS="100")
    environ["PATH"] = f"{directory}{os.pathsep}{environ.get('PATH', '')}"
    for name in ("UNICORN_CMD_ARGS", "PORT", "WEB_CONCURRENCY", "CI"):
        environ.pop(name, None)
    return environ


class BackgroundServer:
    """A server started for one ``run`` block; its log is collected line by line."""

    def __init__(self, command: str, environ: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.finished = False  # the log's pipe reached its end: no more lines will come
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            command, shell=True, cwd=ROOT, env=environ, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, executable="/bin/bash",
        )
        threading.Thread(target=self.collect, daemon=True).start()

    def collect(self) -> None:
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.finished = True
            self.changed.notify_all()

    def wait_for(self, pattern: str, count: int = 1, timeout: float = READY_TIMEOUT) -> None:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while sum(1 for line in self.lines if regex.search(line)) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self.finished:
                    raise RunFailed(f"the server never logged {count} x {pattern!r}; "
                                    "its log:\n" + "\n".join(self.lines))
                self.changed.wait(min(left, 0.1))

    def send(self, signal_number: int) -> None:
        os.kill(self.process.pid, signal_number)

    def stop(self, timeout: float = 15) -> None:
        """TERM the server and wait; a server that will not stop is killed with its group."""
        if self.process.poll() is None:
            self.send(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with self.changed:  # the group is gone, so the pipe ends: wait for its last lines
            self.changed.wait_for(lambda: self.finished, timeout=5)

    @property
    def log(self) -> str:
        with self.changed:
            return "\n".join(self.lines)


class RunDirective(SphinxDirective):
    has_content = True
    option_spec = {"server": directives.unchanged_required, "server-log": directives.flag}

    def run(self) -> list[nodes.Node]:
        with tempfile.TemporaryDirectory(prefix="unicorn-book-") as tmp:
            values = {"port": str(free_port()), "tmp": tmp, "pid": ""}
            environ = python_on_path(Path(tmp))
            try:
                shown, server_log = self.run_block(values, environ)
            except RunFailed as error:
                raise self.error(f"run block failed: {error}") from None
        output = [literal(shown, "console")]
        if "server-log" in self.options:
            output.append(nodes.paragraph("", "", nodes.emphasis(text="The server's log:")))
            output.append(literal(server_log, "text"))
        return output

    def run_block(self, values: dict[str, str], environ: dict[str, str]) -> tuple[str, str]:
        transcript: list[str] = []
        server = None
        try:
            if "server" in self.options:
                command = self.options["server"].format(**values)
                server = BackgroundServer(command, environ)
                values["pid"] = str(server.process.pid)
                transcript.append(f"$ {command} &")
                server.wait_for(r"Listening at")
            for line in self.content:
                if line.strip():
                    self.step(line.strip().format(**values), server, environ, transcript)
        finally:
            if server is not None:
                server.stop()
        return "\n".join(transcript), server.log if server else ""

    def step(self, line: str, server: BackgroundServer | None, environ: dict[str, str],
             transcript: list[str]) -> None:
        if line.startswith("@"):
            self.steer(line, server)
            return
        transcript.append(f"$ {line}")
        try:
            done = subprocess.run(line, shell=True, cwd=ROOT, env=environ, text=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT,
                                  executable="/bin/bash")
        except subprocess.TimeoutExpired:
            raise RunFailed(f"{line!r} took more than {COMMAND_TIMEOUT} s") from None
        if done.stdout.strip("\n"):
            transcript.append(done.stdout.rstrip("\n").replace("\r", ""))
        if done.returncode:
            transcript.append(f"[exit status {done.returncode}]")

    def steer(self, line: str, server: BackgroundServer | None) -> None:
        if server is None:
            raise RunFailed(f"{line!r} needs a :server:")
        word, _, rest = line[1:].partition(" ")
        if word == "wait":
            count, _, pattern = rest.partition(" ")
            if not count.isdigit():
                count, pattern = "1", rest
            server.wait_for(pattern, int(count))
        elif word == "stop":
            server.stop()
        elif word == "signal":
            server.send(signal.Signals["SIG" + rest.strip().removeprefix("SIG")])
        else:
            raise RunFailed(f"unknown step {line!r}; use @wait, @stop or @signal")


def literal(text: str, language: str) -> nodes.literal_block:
    block = nodes.literal_block(text, text)
    block["language"] = language
    return block


def setup(app) -> dict:
    app.add_directive("run", RunDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

