"""Lab 15's tests: a locust scenario (locustfile.py) against the shop and a wrong shop, a
prediction from Little's law (predict.py) checked by arithmetic and against a measured /slow,
and a written reading of one run (reading.md).

locust only ever runs as its own process, `python -m locust`, and is never imported here:
importing it patches the standard library's sockets with gevent's for the whole process.
Runs that can share the machine run side by side, to keep the lab quick.

One part at a time:  python -m pytest labs/15-load-testing/tests -k test_15b_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/15-load-testing/tests
"""

import csv
import importlib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.labs.catalog import ROOT
from unicorn.labs.testing import Book, Process

book = Book(__file__)

LAB, LITTLE = "Lab", "Little's law"
SLOW_PAGE = "Sync against gthread, on the slow page"
PERCENTILES = "Percentiles, and why the mean lies"

EXAMPLES, HERE = ROOT / "examples", Path(__file__).resolve().parent
SECONDS = 4  # each locust run; locust itself takes a few more seconds to start
STARTUP = 40  # how long past SECONDS a locust run may take before it counts as stuck

# Part a: the student's scenario, with a few users.
SCENARIO_USERS = 8
# What each route is, as locust's statistics name it: (method, name pattern).
ROUTES = {
    "GET /": ("GET", r"/"),
    "GET /api/items": ("GET", r"/api/items"),
    "GET /api/items/N": ("GET", r"/api/items/\S+"),
    "POST /order": ("POST", r"/order"),
    "GET /slow": ("GET", r"/slow(\?\S*)?"),
}

# Part b: the book's locustfile with --tags slow, as in the chapter.
SLOW_USERS, THINK_S, SLOW_S = 30, 0.3, 0.05  # think: the mean of between(0.1, 0.5)
WORKERS = {  # name: (workers, threads, unicorn's arguments)
    "sync": (2, 1, ["-w", "2"]),
    "gthread": (2, 4, ["-w", "2", "-k", "gthread", "--threads", "4"]),
}
TOLERANCE = 0.35  # the machine is shared: a prediction within 35% of the measure is right


def implementation_file(impl, module: str, suffix: str) -> Path:
    """The file of `module` (with `suffix`) in the chosen implementation, found without
    importing it: a locustfile is locust's to import, and reading.md is no module at all."""
    dotted = impl.dotted_name(module)
    if dotted is None:
        return impl.starter_dir / f"{module}{suffix}"
    package, _, name = dotted.rpartition(".")
    return Path(importlib.import_module(package).__file__).parent / f"{name}{suffix}"


# --- Servers and locust runs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def processes():
    """processes(argv, env, cwd) -> Process, for module-wide runs; all killed at teardown."""
    started: list[Process] = []

    def start_process(argv: list[str], env: dict[str, str], cwd: Path) -> Process:
        started.append(Process(argv, env, cwd))
        return started[-1]

    yield start_process
    for process in started:
        if process.popen.returncode is None:  # not yet reaped: its group may still be alive
            process.kill()


def start_server(processes, impl, app: str, directory: Path, options: list[str]) -> tuple:
    """`python -m unicorn OPTIONS -b 127.0.0.1:0 APP` in `directory`; (server, port) once
    every worker has booted."""
    command = [sys.executable, "-m", "unicorn", *options, "-b", "127.0.0.1:0", app]
    server = processes(command, impl.environment(directory), directory)
    found = server.wait_for_lines(r"Listening at: http://127\.0\.0\.1:(\d+)")
    workers = int(options[options.index("-w") + 1])
    booted = server.wait_for_lines("Booting worker", count=workers)
    assert found and len(booted) == workers, book.says(
        f"`python -m unicorn {app}` did not start: {server.last_lines()}", LAB)
    return server, int(found[0].group(1))


def start_locust(processes, impl, locustfile: Path, port: int, report: Path, users: int,
                 *options: str) -> Process:
    """Headless locust for SECONDS, its CSV statistics written to REPORT_*.csv."""
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), *options,
               "--headless", "--only-summary", "-L", "WARNING", "-u", str(users), "-r", str(users),
               "--run-time", f"{SECONDS}s", "-H", f"http://127.0.0.1:{port}", "--csv", str(report)]
    return processes(command, impl.environment(), report.parent)


@dataclass
class LoadRun:
    """What one locust run left: its CSV files, read, and its console output."""

    output: str
    finished: bool
    stats: list[dict] = field(default_factory=list)  # one row per request name, and Aggregated
    failures: list[dict] = field(default_factory=list)
    exceptions: list[dict] = field(default_factory=list)

    @property
    def total(self) -> dict:
        return next((row for row in self.stats if row["Name"] == "Aggregated"), {})

    def counts(self, route: str) -> tuple[int, int]:
        """(requests, failed requests) of one route of ROUTES, over every name matching it."""
        method, pattern = ROUTES[route]
        rows = [row for row in self.stats
                if row["Type"] == method and re.fullmatch(pattern, row["Name"])]
        return (sum(int(row["Request Count"]) for row in rows),
                sum(int(row["Failure Count"]) for row in rows))

    def problem(self) -> str | None:
        """Why this run says nothing, or None if it has statistics."""
        if not self.finished:
            return f"locust did not finish within {SECONDS + STARTUP} s"
        if not self.total:
            return f"locust wrote no statistics; it said: {last_line(self.output)}"
        return None


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "(nothing)"


def finish(locust: Process, report: Path) -> LoadRun:
    """Wait for a locust run to end, then read the CSV files it wrote."""
    try:
        locust.popen.wait(SECONDS + STARTUP)
    except subprocess.TimeoutExpired:
        locust.kill()
        return LoadRun(locust.output, finished=False)
    locust.kill()  # it has just exited: this only waits for the last of its output
    run = LoadRun(locust.output, finished=True)
    for name in ("stats", "failures", "exceptions"):
        path = Path(f"{report}_{name}.csv")
        if path.exists():
            with path.open(newline="") as file:
                setattr(run, name, list(csv.DictReader(file)))
    return run


def load_side_by_side(processes, impl, tmp: Path, locustfile: Path, servers: dict,
                      users: int, *options: str) -> dict[str, LoadRun]:
    """One locust run per server, all at once; the servers are stopped once they are done.

    `servers` maps a name to (APP, directory, unicorn's options)."""
    started = {name: start_server(processes, impl, *server) for name, server in servers.items()}
    runs = {name: start_locust(processes, impl, locustfile, port, tmp / name, users, *options)
            for name, (_, port) in started.items()}
    finished = {name: finish(locust, tmp / name) for name, locust in runs.items()}
    for server, _ in started.values():
        server.kill()
    return finished


# --- Part a: a scenario that checks what it gets ------------------------------------------------


@pytest.fixture(scope="module")
def scenario(impl, processes, tmp_path_factory) -> dict[str, LoadRun]:
    """The implementation's locustfile, against examples/shop.py and against wrong_shop.py."""
    servers = {"shop": ("shop:app", EXAMPLES, ["-w", "2"]),
               "wrong": ("wrong_shop:app", HERE, ["-w", "2"])}
    return load_side_by_side(processes, impl, tmp_path_factory.mktemp("scenario"),
                             implementation_file(impl, "locustfile", ".py"), servers,
                             SCENARIO_USERS)


def raised(run: LoadRun) -> str:
    """The first exception a task raised, as a short phrase ('' if none)."""
    if not run.exceptions:
        return ""
    first = run.exceptions[0]
    return f"a task raised {first['Message'].strip()!r} ({first['Count']} times)"


def test_15a_the_shop_gets_no_failed_request(scenario):
    run = scenario["shop"]
    assert not run.problem(), book.says(run.problem(), LAB)
    requests, failures = int(run.total["Request Count"]), int(run.total["Failure Count"])
    assert not run.exceptions, book.says(
        f"{raised(run)}: a task must send its request and call response.failure() when the "
        "answer is wrong, never raise (a request whose check raises is not counted)", LAB)
    assert requests > 0, book.says("no request was counted in the whole run", LAB)
    errors = [f"{row['Method']} {row['Name']}: {row['Error'].strip()}" for row in run.failures]
    assert not failures, book.says(
        f"{failures} of {requests} requests to the real shop failed ({errors[:2]}): a check "
        "that fails a right answer is as wrong as one that passes a wrong one", LAB)


def test_15a_every_route_is_exercised(scenario):
    run = scenario["shop"]
    assert not run.problem(), book.says(run.problem(), LAB)
    counts = {route: run.counts(route)[0] for route in ROUTES}
    missing = [route for route, requests in counts.items() if not requests]
    assert not missing, book.says(
        f"no {', '.join(missing)} in {SECONDS} s with {SCENARIO_USERS} users (counted: "
        f"{counts}){'; ' + raised(run) if run.exceptions else ''}", LAB)


def test_15a_wrong_answers_are_failures(scenario):
    run = scenario["wrong"]
    assert not run.problem(), book.says(run.problem(), LAB)
    passed = {}
    for route in ROUTES:
        requests, failures = run.counts(route)
        if not requests:
            passed[route] = "none counted"
        elif failures < requests:
            passed[route] = f"{requests - failures} of {requests} passed"
    assert not passed, book.says(
        "a shop that answers the right status with wrong bodies (tests/wrong_shop.py) must fail "
        f"every request, got {passed}{'; ' + raised(run) if run.exceptions else ''}", LAB)


# --- Part b: predict, then measure ------------------------------------------------------------


@pytest.fixture(scope="module")
def predict(impl):
    return impl.load("predict").predict


@pytest.mark.parametrize("arguments, want", [
    ((2, 1, 0.05, 30, 0.3), (40.0, 0.45)),  # the chapter's sync server: it sets the pace
    ((2, 4, 0.05, 30, 0.3), (30 / 0.35, 0.05)),  # gthread: the users set the pace
    ((1, 1, 0.1, 1, 0.0), (10.0, 0.1)),  # one user who never thinks: one request at a time
    ((4, 1, 0.2, 10, 1.8), (5.0, 0.2)),  # ten users thinking 1.8 s, four workers: no queue
    ((1, 1, 0.05, 100, 0.0), (20.0, 5.0)),  # wrk -c 100 against one sync worker
    ((3, 4, 0.05, 240, 0.0), (240.0, 1.0)),  # 240 users, 12 places: each waits 19 turns
], ids=["sync", "gthread", "one-user", "no-queue", "wrk", "twelve-places"])
def test_15b_known_cases(predict, arguments, want):
    got = predict(*arguments)
    workers, threads, service, users, think = arguments
    assert got == pytest.approx(want, rel=1e-3), book.expected(
        f"predict(workers={workers}, threads={threads}, service_time_s={service}, "
        f"users={users}, think_time_s={think}) = ({want[0]:.4g} requests/s, {want[1]:.4g} s)",
        got, LITTLE)


@given(workers=st.integers(1, 8), threads=st.integers(1, 8), service=st.floats(0.001, 2.0),
       users=st.integers(1, 500), think=st.floats(0.0, 5.0))
def test_15b_the_closed_loop_holds(predict, workers, threads, service, users, think):
    throughput, response = predict(workers, threads, service, users, think)
    call = f"predict({workers}, {threads}, {service!r}, {users}, {think!r})"
    ceiling = workers * threads / service
    assert throughput <= ceiling * (1 + 1e-9), book.says(
        f"{call} = {throughput!r} requests/s, above the server's workers * threads / "
        f"service_time_s = {ceiling:.6g}", LITTLE)
    assert throughput <= users / (service + think) * (1 + 1e-9), book.says(
        f"{call} = {throughput!r} requests/s, more than users who each wait service_time_s "
        f"and think think_time_s can send ({users / (service + think):.6g})", LITTLE)
    assert response >= service * (1 - 1e-9), book.says(
        f"{call} answers in {response!r} s, faster than the {service!r} s a request takes", LITTLE)
    assert users == pytest.approx(throughput * (response + think), rel=1e-6), book.says(
        f"{call} = ({throughput!r}, {response!r}) breaks N = X * (R + Z) for the whole loop: "
        f"{throughput * (response + think):.6g} users instead of {users}", LITTLE)


@pytest.fixture(scope="module")
def slow_runs(impl, processes, tmp_path_factory) -> dict[str, LoadRun]:
    """The book's locustfile with --tags slow against sync and gthread servers, side by side."""
    servers = {name: ("shop:app", EXAMPLES, options) for name, (_, _, options) in WORKERS.items()}
    return load_side_by_side(processes, impl, tmp_path_factory.mktemp("slow"),
                             ROOT / "locustfile.py", servers, SLOW_USERS, "--tags", "slow")


@pytest.mark.parametrize("worker", WORKERS)
def test_15b_the_slow_page_runs_as_predicted(predict, request, worker):
    workers, threads, options = WORKERS[worker]
    throughput, response = predict(workers, threads, SLOW_S, SLOW_USERS, THINK_S)
    run = request.getfixturevalue("slow_runs")[worker]  # only once there is a prediction
    assert not run.problem(), book.says(run.problem(), SLOW_PAGE)
    measured, median = float(run.total["Requests/s"]), run.total["Median Response Time"]
    assert abs(measured - throughput) <= TOLERANCE * throughput, book.says(
        f"you predicted {throughput:.1f} requests/s for {SLOW_USERS} users on /slow against "
        f"`python -m unicorn {' '.join(options)}`, locust measured {measured:.1f} (median "
        f"{median} ms, you predicted {response * 1000:.0f}); within {TOLERANCE:.0%} is right",
        SLOW_PAGE)


# --- Part c: the written reading -------------------------------------------------------------


FIELDS = ("p50", "p95", "p99", "promise", "mean_hid", "where_time_went")
MILLISECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:ms)?")


@pytest.fixture(scope="module")
def reading(impl) -> dict[str, str]:
    """The fields of reading.md: each `name: value` line whose name is in FIELDS."""
    text = implementation_file(impl, "reading", ".md").read_text()
    found = re.findall(rf"^({'|'.join(FIELDS)}):[ \t]*(.*?)[ \t]*$", text, re.MULTILINE)
    return {name: value for name, value in found}


def test_15c_the_percentiles_are_read_and_ordered(reading):
    values = {}
    for name in ("p50", "p95", "p99"):
        match = MILLISECONDS.fullmatch(reading.get(name, ""))
        assert match and float(match[1]) > 0, book.expected(
            f"{name}: a time in milliseconds from the run's Aggregated line, like `{name}: 12 ms`",
            reading.get(name), PERCENTILES)
        values[name] = float(match[1])
    assert values["p50"] <= values["p95"] <= values["p99"], book.expected(
        "p50 <= p95 <= p99: a higher percentile is never faster", values, PERCENTILES)


def test_15c_the_promise_is_a_percentile_at_a_load(reading):
    promise = reading.get("promise", "")
    pieces = {
        "a percentile (p95, p99, ...)": r"\bp\d{2}(\.\d+)?\b|\bpercentile\b",
        "a time (200 ms)": r"\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?)\b",
        "a load (20 users, 100 requests per second)":
            r"\d+(\.\d+)?\s*(users?|requests? per second|requests?/s|req/s|rps)\b",
    }
    missing = [piece for piece, pattern in pieces.items()
               if not re.search(pattern, promise, re.IGNORECASE)]
    assert not missing, book.expected(
        f"a promise like 'p99 under 200 ms at 100 requests per second', with {', '.join(missing)}",
        promise, PERCENTILES)


@pytest.mark.parametrize("name", ["mean_hid", "where_time_went"])
def test_15c_the_explanations_say_something(reading, name):
    words = re.findall(r"[\w'.-]*\w", reading.get(name, ""))
    assert len(words) >= 8, book.expected(
        f"{name}: a sentence of your own, of 8 words or more, on one line", reading.get(name),
        PERCENTILES)
