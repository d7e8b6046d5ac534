"""Requests per second: unicorn's threaded worker against gunicorn 27.0.1's gthread.

Starts both servers on loopback with the same hello-world app and settings,
then loads them with wrk in alternating rounds (unicorn, gunicorn, unicorn, ...)
at 16 and 64 keep-alive connections, so slow drift on the machine hits both.
Prints the median requests/s and p99 latency, each round, and unicorn/gunicorn.
Run: python bench/gthread_bench.py [--quick] [--rounds N] [--duration S]
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from anchor import require_gunicorn

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
APP = "apps:app"  # bench/apps.py, found through PYTHONPATH
# The settings of the issue, given to both servers unchanged (plus -k and --threads).
SETTINGS = ["-w", "2", "--keep-alive", "5", "--log-level", "warning"]
TARGET_RATIO_AT_64 = 1.5  # unicorn must serve >= 1.5x gunicorn's requests/s at 64 connections
# At 16 connections unicorn must not collapse: its slowest round must still reach this
# share of gunicorn's median, and wrk must see no errors or timeouts.
COLLAPSE_SHARE_AT_16 = 0.5
STARTUP_SECONDS = 20  # how long a server may take to answer its first request
STOP_SECONDS = 10  # how long a server may take to exit after SIGTERM before SIGKILL
WARMUP_SECONDS = 1

WRK_MISSING = """wrk is not installed. On Debian or Ubuntu install it with:
    apt-get update && apt-get install -y wrk
(on macOS: brew install wrk), then run this script again."""


@dataclass
class Round:
    """What wrk reported for one run against one server."""

    requests_per_second: float
    p99_ms: float
    errors: int  # socket errors (connect, read, write, timeout) plus non-2xx/3xx answers


# -- the servers ----------------------------------------------------------


@dataclass
class Server:
    """One server under test, running in its own process group."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start the server; its output goes to a file we show if it fails."""
        python_path = os.pathsep.join([str(BENCH_DIR), str(REPO_ROOT)])
        environment = dict(os.environ, PYTHONPATH=python_path)
        # The server gets its own copy of the log's descriptor, so ours may close
        # as soon as Popen returns. process_group=0 puts the master and its
        # workers in a new group that stop() can signal as one.
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=BENCH_DIR, env=environment, process_group=0,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    def wait_until_serving(self) -> None:
        """Poll with a real request until the server answers 200, or give up."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.output()}")
            if answers_200(self.port):
                return
            time.sleep(0.1)  # a polling interval, not synchronisation: the deadline bounds it
        raise RuntimeError(f"{self.name} did not answer within {STARTUP_SECONDS} s:\n"
                           f"{self.output()}")

    def stop(self) -> None:
        """SIGTERM the whole group, then SIGKILL whatever outlives STOP_SECONDS."""
        if self.process is None:
            return
        if self.process.poll() is None:
            signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        # Workers may outlive a master that died: clean up the group either way.
        signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)

    def output(self) -> str:
        """The end of what the server wrote, to explain a failure."""
        return self.log_path.read_text(errors="replace")[-4000:]


def signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass  # the group has already gone


def answers_200(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def free_port() -> int:
    """A loopback port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_servers(worker_class: str, threads: int, log_directory: Path) -> list[Server]:
    common = ["-k", worker_class, "--threads", str(threads), *SETTINGS]
    unicorn_port, gunicorn_port = free_port(), free_port()
    while gunicorn_port == unicorn_port:
        gunicorn_port = free_port()
    return [
        Server("unicorn", [sys.executable, "-m", "unicorn", *common,
                           "-b", f"127.0.0.1:{unicorn_port}", APP],
               unicorn_port, log_directory / "unicorn.log"),
        Server("gunicorn", [sys.executable, "-m", "gunicorn", *common,
                            "-b", f"127.0.0.1:{gunicorn_port}", APP],
               gunicorn_port, log_directory / "gunicorn.log"),
    ]


# -- wrk ------------------------------------------------------------------

UNITS_IN_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(url: str, connections: int, seconds: int) -> Round:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    # wrk stops itself after `seconds`; the timeout only guards against a hang.
    finished = subprocess.run(command, capture_output=True, text=True, check=False,
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


# -- the experiment -------------------------------------------------------


def measure(servers: list[Server], connections: int, rounds: int,
            seconds: int) -> dict[str, list[Round]]:
    """Alternate the servers round by round, so both see the same machine."""
    results: dict[str, list[Round]] = {server.name: [] for server in servers}
    for server in servers:
        run_wrk(server.url, connections, WARMUP_SECONDS)
    for number in range(1, rounds + 1):
        for server in servers:
            result = run_wrk(server.url, connections, seconds)
            results[server.name].append(result)
            print(f"  {connections:>3} connections, round {number}/{rounds}, {server.name:<8}: "
                  f"{result.requests_per_second:9.0f} req/s, p99 {result.p99_ms:7.2f} ms"
                  + (f", {result.errors} errors" if result.errors else ""), flush=True)
    return results


def summarise(connections: int, results: dict[str, list[Round]]) -> float:
    """Print medians, spread and the ratio for one connection count; return the ratio."""
    print(f"\n{connections} keep-alive connections:")
    medians = {}
    for name, rounds in results.items():
        rates = [r.requests_per_second for r in rounds]
        medians[name] = statistics.median(rates)
        print(f"  {name:<8} median {medians[name]:9.0f} req/s  "
              f"(rounds {', '.join(f'{rate:.0f}' for rate in rates)}; "
              f"spread {spread(rates)})  "
              f"p99 {statistics.median(r.p99_ms for r in rounds):.2f} ms  "
              f"errors {sum(r.errors for r in rounds)}")
    ratio = medians["unicorn"] / medians["gunicorn"] if medians["gunicorn"] else float("nan")
    print(f"  unicorn/gunicorn: {ratio:.2f}x")
    return ratio


def spread(rates: list[float]) -> str:
    """How far apart the fastest and slowest rounds are, as a share of the median."""
    median = statistics.median(rates)
    if median == 0:
        return "n/a"
    return f"{(max(rates) - min(rates)) / median:.0%}"


def check_targets(all_results: dict[int, dict[str, list[Round]]],
                  ratios: dict[int, float]) -> None:
    print("\ntargets:")
    if 64 in ratios:
        met = "met" if ratios[64] >= TARGET_RATIO_AT_64 else "NOT met"
        print(f"  64 connections: unicorn >= {TARGET_RATIO_AT_64}x gunicorn's req/s -> "
              f"{met} ({ratios[64]:.2f}x)")
    if 16 in all_results:
        unicorn, gunicorn = all_results[16]["unicorn"], all_results[16]["gunicorn"]
        slowest = min(r.requests_per_second for r in unicorn)
        floor = COLLAPSE_SHARE_AT_16 * statistics.median(r.requests_per_second for r in gunicorn)
        errors = sum(r.errors for r in unicorn)
        met = "met" if slowest >= floor and errors == 0 else "NOT met"
        print(f"  16 connections: no collapse (every unicorn round >= {floor:.0f} req/s, "
              f"{COLLAPSE_SHARE_AT_16:.0%} of gunicorn's median, and no errors) -> {met} "
              f"(slowest round {slowest:.0f} req/s, {errors} errors)")


def check_tools() -> None:
    """Exit with instructions when wrk or gunicorn is missing."""
    if shutil.which("wrk") is None:
        sys.exit(WRK_MISSING)
    require_gunicorn()
    try:
        import gunicorn_h1c  # noqa: F401
        print("note: gunicorn_h1c is installed, so gunicorn parses with its C extension")
    except ImportError:
        pass


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=5, help="rounds per server (default 5)")
    arguments.add_argument("--duration", type=int, default=5,
                           help="seconds per wrk run (default 5)")
    arguments.add_argument("--connections", default="16,64",
                           help="comma-separated keep-alive connection counts (default 16,64)")
    arguments.add_argument("-k", "--worker-class", default="gthread",
                           help="worker class given to both servers (default gthread)")
    arguments.add_argument("--threads", type=int, default=4,
                           help="threads per worker for both servers (default 4; both turn "
                                "sync into gthread when this is above 1)")
    arguments.add_argument("--quick", action="store_true", help="1 round of 2 s: a smoke run")
    options = arguments.parse_args(argv)
    if options.quick:
        options.rounds, options.duration = 1, 2
    options.connections = [int(count) for count in options.connections.split(",")]
    return options


def run_benchmark(servers: list[Server],
                  options: argparse.Namespace) -> dict[int, dict[str, list[Round]]]:
    """Start both servers, load them round by round, and always stop them."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_serving()
        return {count: measure(servers, count, options.rounds, options.duration)
                for count in options.connections}
    finally:
        for server in servers:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    options = parse_arguments(argv)
    check_tools()
    print(f"both servers: -k {options.worker_class} --threads {options.threads} "
          f"{' '.join(SETTINGS)}; {options.rounds} round(s) of {options.duration} s; "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="unicorn-bench-") as log_directory:
        servers = make_servers(options.worker_class, options.threads, Path(log_directory))
        try:
            all_results = run_benchmark(servers, options)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            sys.exit(f"benchmark failed: {error}")
    ratios = {count: summarise(count, results) for count, results in all_results.items()}
    check_targets(all_results, ratios)


if __name__ == "__main__":
    main()
