"""Tasks for developers: `nox` runs the tests and the linter; `nox -s docs` builds the book;
`nox -s labs` proves the labs; `nox -s bench` runs the benchmarks; `nox -s load` puts
unicorn under locust; `nox -s parity` compares unicorn's answers to the request corpus
with gunicorn's.

Arguments after `--` go to pytest (tests), to bench/compare.py (bench),
or to the load run (load), for example `nox -s bench -- --quick` or
`nox -s load -- --users 20 --run-time 10s`.
"""

import argparse
import csv
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check the code with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "unicorn", "tests", "bench", "labs", "book", "examples",
                "conf.py", "noxfile.py", "locustfile.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the book into book/_build/html, with warnings as errors and nitpicky references.

    The diagrams need graphviz's `dot` (Debian package `graphviz`).
    """
    if shutil.which("dot") is None:
        session.error("The book's diagrams need graphviz: `apt-get install -y graphviz`.")
    session.install(".[docs]")
    session.run("python", "-m", "sphinx", "-W", "--keep-going", "-n", "-c", ".",
                "-b", "html", "book", "book/_build/html", *session.posargs)


@nox.session
def labs(session: nox.Session) -> None:
    """Prove every lab: unicorn passes it, its untouched starter fails it, its broken variants
    are caught (labs/README.md, "The proof")."""
    session.install(".[test]")
    session.run("python", "-m", "pytest", "tests/test_labs.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Compare unicorn with gunicorn 27.0.1 (bench/README.md): every scenario, one table,
    results.json and results.png in bench/results/ (or `-- --out DIR`); `-- --quick` for a
    smoke run."""
    session.install(".[bench]")
    if shutil.which("wrk") is None and not install_wrk(session):
        session.error("bench/compare.py needs wrk: `apt-get install -y wrk` (as root).")
    session.run("python", "bench/compare.py", *session.posargs)


@nox.session
def parity(session: nox.Session) -> None:
    """Send tests/requests/ to unicorn and gunicorn 27.0.1; write where they differ, and why.

    The table goes to tests/requests/PARITY.md (or the file after `--`), which chapter 16
    includes; a case that differs without a reason in DIFFERENCES.md fails the session.
    """
    session.install(".", "gunicorn==27.0.1")
    output = session.posargs[0] if session.posargs else "tests/requests/PARITY.md"
    session.run("python", "-m", "tests.parity", "--output", output)


def install_wrk(session: nox.Session) -> bool:
    """Install wrk from Debian's archive when we are allowed to; say whether we did."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    session.run("apt-get", "update", external=True)
    session.run("apt-get", "install", "-y", "wrk", external=True)
    return shutil.which("wrk") is not None


# The worker classes `nox -s load` compares, with the same two processes each.
LOAD_WORKERS = {
    "sync": ["-w", "2"],
    "gthread": ["-w", "2", "-k", "gthread", "--threads", "4"],
}
LOAD_REPORTS = Path(".nox") / "load-reports"


@nox.session
def load(session: nox.Session) -> None:
    """Serve examples/shop.py with each worker class, load it with locust, fail on any failure.

    Each run: start `python -m unicorn` on a free port, run locust headless in
    its own process (it patches sockets with gevent on import), stop the
    server with TERM. Reports (CSV and HTML) go to .nox/load-reports/.
    """
    parser = argparse.ArgumentParser(prog="nox -s load --")
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="new users per second")
    parser.add_argument("--run-time", default="30s", help="per worker class (default 30s)")
    parser.add_argument("--workers", default=",".join(LOAD_WORKERS),
                        help="worker classes to run, comma-separated (default: sync,gthread)")
    options = parser.parse_args(session.posargs)
    session.install(".[load]")
    shutil.rmtree(LOAD_REPORTS, ignore_errors=True)
    LOAD_REPORTS.mkdir(parents=True)
    python = str(Path(session.bin) / "python")
    for name in options.workers.split(","):
        server_log = LOAD_REPORTS / f"{name}-server.log"
        server, port = start_shop(python, LOAD_WORKERS[name], server_log)
        try:
            session.run(
                "locust", "-f", "locustfile.py", "--headless", "--only-summary",
                "-u", str(options.users), "-r", str(options.spawn_rate),
                "--run-time", options.run_time, "--host", f"http://127.0.0.1:{port}",
                "--csv", str(LOAD_REPORTS / name), "--html", str(LOAD_REPORTS / f"{name}.html"),
                "--exit-code-on-error", "1",
            )
        finally:
            stop_shop(server)
        requests, failures = load_totals(LOAD_REPORTS / f"{name}_stats.csv")
        session.log(f"{name}: {requests} requests, {failures} failed")
        if failures or not requests:
            session.error(f"{name}: {failures} of {requests} requests failed; "
                          f"see {LOAD_REPORTS / name}_failures.csv and {server_log}")
    session.log(f"Reports (CSV and HTML) are in {LOAD_REPORTS.resolve()}")


def start_shop(python: str, worker_args: list[str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """Start unicorn on port 0 (the kernel picks a free one); return it and the port it got."""
    log = log_path.open("w")
    command = [python, "-m", "unicorn", *worker_args, "-b", "127.0.0.1:0",
               "--chdir", "examples", "shop:app"]
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True,
                              env=dict(os.environ, PYTHONUNBUFFERED="1"))
    log.close()  # the server has its own copy of the descriptor
    workers = int(worker_args[worker_args.index("-w") + 1])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and server.poll() is None:
        text = log_path.read_text()
        port = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if port and text.count("Booting worker") >= workers:
            return server, int(port.group(1))
        time.sleep(0.1)
    stop_shop(server)
    raise RuntimeError(f"unicorn did not start; its log:\n{log_path.read_text()}")


def stop_shop(server: subprocess.Popen) -> None:
    """TERM the master and wait for its graceful stop; kill the group if it hangs."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def load_totals(stats_csv: Path) -> tuple[int, int]:
    """The Aggregated line of locust's NAME_stats.csv: (requests, failures)."""
    with stats_csv.open(newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                return int(row["Request Count"]), int(row["Failure Count"])
    return 0, 0
