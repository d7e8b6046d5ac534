"""A short load run: examples/shop.py under locust, with each worker class, and no failure.

The smoke version of `nox -s load`: a few users for a few seconds. locust runs
in its own process and is never imported here, because importing it patches
the standard library's sockets with gevent's for the whole test process.
We read its CSV report, not its console output.
"""

import csv
import importlib.util
import os
import subprocess
import sys

import pytest

from tests.server import ROOT

EXAMPLES = ROOT / "examples"
WORKERS = {
    "sync": ["-w", "2"],
    "gthread": ["-w", "2", "-k", "gthread", "--threads", "4"],
}
ROUTES = ["/", "/api/items", "/api/items/[id]", "/order", "/slow"]  # names in locustfile.py
USERS, SECONDS = 8, 5


def locust_or_skip() -> None:
    """Skip without locust, unless in CI, where a missing tool must fail the run."""
    if importlib.util.find_spec("locust") is None and not os.environ.get("CI"):
        pytest.skip("locust is not installed: pip install -e '.[test]'")


@pytest.mark.parametrize("worker", WORKERS)
def test_the_shop_under_load_has_no_failures(worker, start_server, tmp_path):
    locust_or_skip()
    server = start_server(*WORKERS[worker], app="shop:app", cwd=EXAMPLES).ready(workers=2)
    report = tmp_path / worker
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless",
         "--only-summary", "-u", str(USERS), "-r", str(USERS), "--run-time", f"{SECONDS}s",
         "--host", f"http://127.0.0.1:{server.port}", "--csv", str(report),
         "--exit-code-on-error", "1"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=SECONDS + 60,
    )
    assert done.returncode == 0, done.stdout + done.stderr + server.output

    with open(f"{report}_stats.csv", newline="") as file:
        stats = {row["Name"]: row for row in csv.DictReader(file)}
    total = stats["Aggregated"]
    assert int(total["Failure Count"]) == 0, open(f"{report}_failures.csv").read()
    # Each user sends about three requests a second (it thinks 0.1 to 0.5 s
    # between two); a third of that is still far from what a slow machine does.
    assert int(total["Request Count"]) >= USERS * (SECONDS - 1)
    for route in ROUTES:
        assert int(stats[route]["Request Count"]) >= 1, f"{route} was never requested"
    # The app sleeps 50 ms in /slow: a faster median means the sleep never ran.
    assert float(stats["/slow"]["Median Response Time"]) >= 45
