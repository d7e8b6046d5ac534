"""unicorn beside gunicorn 27.0.1: every scenario of issue 11 in one run, one table.

Starts both servers with the same settings on the same app, loads them with
wrk in interleaved rounds, times their startup, weighs their workers and
times the parsers; then prints one table of medians and unicorn's advantage,
checks the targets, and writes results.json, results.md and results.png.
With --record it also writes bench/recorded.json, the run that bench/README.md
and the book report.
Run: python bench/compare.py [--quick] [--rounds N] [--duration S] [--out DIR] [--record]
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import report
from anchor import GUNICORN_VERSION, require_gunicorn
from apps import FILE_VARIABLE, STREAM_SIZE
from nginx import Nginx, nginx_available
from parser_bench import check_parsers, make_gunicorn_parse, optional_parsers, parse_with_unicorn
from parser_bench import measure as time_parsers
from report import Measurement
from scenarios import SCENARIOS, SETUPS, SYNC, Scenario, Setup
from servers import BENCH_DIR, Server
from wrk import Round, require_wrk, run_wrk, write_post_script

NAMES = ["unicorn", "gunicorn"]  # the anchor is always second in a pair
RECORDED = BENCH_DIR / "recorded.json"  # committed: the book draws its plot from it


def start_pair(setup: Setup, directory: Path) -> dict[str, Server]:
    """unicorn and gunicorn, each started and answering, with the same settings and app."""
    environment = {FILE_VARIABLE: str(directory / "file.bin")}
    servers = {name: Server(name, setup.settings, setup.app,
                            directory / f"{setup.name}-{name}.log", environment)
               for name in NAMES}
    try:
        for server in servers.values():
            server.start()
    except RuntimeError:
        stop_all(servers.values())
        raise
    return servers


def stop_all(servers) -> None:
    for server in servers:
        server.stop()


def load(scenario: Scenario, url: str, seconds: float, directory: Path) -> Round:
    script = write_post_script(directory, scenario.post_bytes) if scenario.post_bytes else None
    return run_wrk(url + scenario.path, scenario.connections, seconds, scenario.close, script)


def measure_setup(setup: Setup, options: argparse.Namespace, directory: Path,
                  rows: dict[str, Measurement]) -> None:
    """Every scenario of one setup, in interleaved rounds; then each worker's RSS."""
    scenarios = [scenario for scenario in SCENARIOS if scenario.setup is setup
                 and (nginx_available() or not scenario.via_nginx)]
    servers = start_pair(setup, directory)
    nginx = None
    try:
        if any(scenario.via_nginx for scenario in scenarios):
            nginx = Nginx(directory / f"nginx-{setup.name}", [s.port for s in servers.values()])
        for scenario in scenarios:
            rows[scenario.key] = Measurement(scenario.key, scenario.title,
                                             "req/s", higher_is_better=True)
            for server in servers.values():  # warm up (not in a smoke run)
                if options.warmup:
                        load(scenario, url_for(scenario, server, nginx), options.warmup, directory)
        for number in range(options.rounds):
            # Who goes first alternates, so neither always runs on the fresher machine.
            order = NAMES if number % 2 == 0 else NAMES[::-1]
            for scenario in scenarios:
                for name in order:
                    record(rows[scenario.key], name,
                           load(scenario, url_for(scenario, servers[name], nginx),
                                options.duration, directory))
                print(f"  round {number + 1}/{options.rounds}: {scenario.title}: "
                      + ", ".join(f"{name} {samples(rows[scenario.key], name)[-1]:.0f}"
                                  for name in NAMES), flush=True)
        if setup.name in ("sync", "gthread"):
            rss = Measurement(f"rss-{setup.name}", f"RSS per worker, {setup.name}, warm",
                              "MiB", higher_is_better=False)
            rss.unicorn = servers["unicorn"].worker_rss_mib()
            rss.anchor = servers["gunicorn"].worker_rss_mib()
            rows[rss.key] = rss
    finally:
        if nginx is not None:
            nginx.stop()
        stop_all(servers.values())


def url_for(scenario: Scenario, server: Server, nginx: Nginx | None) -> str:
    if scenario.via_nginx:
        return f"http://127.0.0.1:{nginx.port_for[server.port]}"
    return server.url


def samples(row: Measurement, name: str) -> list[float]:
    return row.unicorn if name == "unicorn" else row.anchor


def record(row: Measurement, name: str, result: Round) -> None:
    samples(row, name).append(result.requests_per_second)
    row.errors[name] = row.errors.get(name, 0) + result.errors


def measure_startup(options: argparse.Namespace, directory: Path) -> Measurement:
    """Seconds from launching the master to the first 200, sync -w 2, interleaved."""
    row = Measurement("startup", "launch to first 200, sync -w 2", "s",
                      higher_is_better=False)
    for number in range(2 * options.rounds):  # a launch is short: take more samples
        for name in NAMES if number % 2 == 0 else NAMES[::-1]:
            server = Server(name, SYNC.settings, SYNC.app, directory / f"startup-{name}.log", {})
            try:
                samples(row, name).append(server.start())
            finally:
                server.stop()
    return row


def measure_parsers(options: argparse.Namespace) -> list[Measurement]:
    """bench/parser_bench.py's measurement, as two rows: against gunicorn, against h11."""
    parsers = {"unicorn": parse_with_unicorn, "gunicorn": make_gunicorn_parse()}
    parsers.update(optional_parsers())
    check_parsers(parsers)
    timings = time_parsers(parsers, options.parser_repeats)
    rows = [Measurement("parser", "parser, 578-byte GET, 10 fields", "µs",
                        higher_is_better=False, unicorn=timings["unicorn"],
                        anchor=timings["gunicorn"])]
    if "h11" in timings:
        rows.append(Measurement("parser-h11", "parser, 578-byte GET, 10 fields", "µs",
                                higher_is_better=False, unicorn=timings["unicorn"],
                                anchor=timings["h11"], anchor_name="h11"))
    return rows


def describe_machine(options: argparse.Namespace) -> dict:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "gunicorn": GUNICORN_VERSION,
        "wrk": (wrk.split() or ["?", "?"])[1],
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "rounds": options.rounds,
        "seconds_per_round": options.duration,
    }


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rounds", type=int, default=5, help="rounds per server (default 5)")
    arguments.add_argument("--duration", type=int, default=5,
                           help="seconds per wrk run (default 5)")
    arguments.add_argument("--out", type=Path, default=BENCH_DIR / "results",
                           help="where results.json, .md and .png go (default bench/results)")
    arguments.add_argument("--quick", action="store_true",
                           help="1 round of 1 s, no warm-up, a short parser run: a smoke run")
    arguments.add_argument("--record", action="store_true",
                           help=f"also write {RECORDED.relative_to(BENCH_DIR.parent)}, "
                                "the run bench/README.md and the book report")
    options = arguments.parse_args(argv)
    options.warmup, options.parser_repeats = 1, 9  # wrk takes whole seconds
    if options.quick:
        options.rounds, options.duration, options.warmup, options.parser_repeats = 1, 1, 0, 3
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse_arguments(argv)
    require_wrk()
    require_gunicorn()
    about = describe_machine(options)
    print(f"{options.rounds} round(s) of {options.duration} s per scenario and server; "
          f"{about['cpus']} CPUs; load average {about['load_average_at_start'][0]:.2f}")
    if not nginx_available():
        print("nginx is not installed (apt-get install nginx): skipping the nginx rows")
    rows: dict[str, Measurement] = {}
    with tempfile.TemporaryDirectory(prefix="unicorn-bench-") as name:
        directory = Path(name)
        (directory / "file.bin").write_bytes(os.urandom(STREAM_SIZE))
        try:
            for setup in SETUPS:
                measure_setup(setup, options, directory, rows)
            rows["startup"] = measure_startup(options, directory)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            sys.exit(f"benchmark failed: {error}")
    for row in measure_parsers(options):
        rows[row.key] = row
    text = report.table(rows)
    verdicts = report.check_targets(rows)
    print(f"\n{text}\n\nTargets:\n{report.targets_text(verdicts)}")
    options.out.mkdir(parents=True, exist_ok=True)
    report.write_json(options.out / "results.json", about, rows, verdicts)
    (options.out / "results.md").write_text(
        f"{text}\n\nTargets:\n\n{report.targets_text(verdicts)}\n")
    report.draw_plot(options.out / "results.png", report.plot_title(about), rows)
    print(f"\nwrote {options.out}/results.json, results.md and results.png")
    if options.record:
        # The README's table must be this one: tests/test_bench_record.py compares them.
        report.write_json(RECORDED, about, rows, verdicts)
        print(f"wrote {RECORDED}; put this table in bench/README.md, "
              f"under \"## Results on this machine\":\n\n{text}")


if __name__ == "__main__":
    main()
