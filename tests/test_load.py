"""A short load run: examples/shop.py under locust, with each worker class, and no failure.

The smoke version of `nox -s load`: a few users for a few seconds. locust runs
in its own process and is never imported here, because importing it patches
the standard library's sockets with gevent's for the whole test process.
We read its CSV report, not its console output.
"""

import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from tests.server import ROOT

EXAMPLES = ROOT / "examples"
WORKERS = {
    "sync": ["-w", "2"],
    "gthread": ["-w", "2", "-k", "gthread", "--threads", "4"],
}
ROUTES = ["/", "/api/items", "/api/items/[id]", "/order", "/slow"]  # names in locustfile.py
USERS, SECONDS = 8, 5


def call_shop(method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
    """Call examples/shop.py in this process, through wsgiref's PEP 3333 validator."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import shop
    finally:
        sys.path.remove(str(EXAMPLES))
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
               "QUERY_STRING": "", "wsgi.input": io.BytesIO(body)}
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    setup_testing_defaults(environ)
    answer = {}
    chunks = validator(shop.app)(environ, lambda status, headers: answer.update(status=status))
    try:
        return answer["status"], b"".join(chunks)
    finally:
        chunks.close()


def test_the_shop_answers_what_the_locustfile_checks():
    assert call_shop("GET", "/")[0] == "200 OK"
    assert [item["id"] for item in json.loads(call_shop("GET", "/api/items")[1])] == [1, 2, 3, 4]
    assert json.loads(call_shop("GET", "/api/items/3")[1])["id"] == 3
    assert call_shop("GET", "/api/items/9")[0] == "404 Not Found"
    status, body = call_shop("POST", "/order", b"item=2&quantity=3")
    assert status == "201 Created" and json.loads(body)["total"] == 36.0
    assert call_shop("POST", "/order", b"item=2&quantity=0")[0] == "400 Bad Request"
    assert call_shop("POST", "/order")[0] == "400 Bad Request"  # no body at all
    assert call_shop("GET", "/order")[0] == "405 Method Not Allowed"
    assert call_shop("GET", "/slow")[1] == b"waited 50 ms\n"


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
