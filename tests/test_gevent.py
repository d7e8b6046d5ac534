"""The gevent worker from outside: a real ``python -m unicorn -k gevent``, real sockets.

One worker process, many green threads: slow requests that wait overlap,
a connection is kept alive, TERM lets requests finish, and a request that
never waits is still caught by the arbiter's heartbeat check.
"""

import http.client
import signal
import socket
import threading
import time

import pytest

from tests.server import ROOT, body_of, status_of, wait_until

pytest.importorskip("gevent", reason="pip install 'unicorn-wsgi[gevent]'")

APP = "green_apps:app"


def start_gevent(start_server, *args: str):
    return start_server("-k", "gevent", "-w", "1", *args, app=APP).ready()


def test_fifty_slow_requests_share_one_worker(start_server):
    server = start_gevent(start_server)
    answers = []

    def fetch() -> None:
        answers.append(server.get("/sleep?seconds=0.5", timeout=30))

    clients = [threading.Thread(target=fetch) for _ in range(50)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    elapsed = time.monotonic() - started
    assert [status_of(answer) for answer in answers] == [200] * 50
    assert len({body_of(answer) for answer in answers}) == 1, "one worker served them all"
    assert elapsed < 6, f"50 x 0.5 s took {elapsed:.1f} s: the sleeps did not overlap"


def test_a_connection_is_kept_alive(start_server):
    server = start_gevent(start_server)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/")
    first = connection.getresponse()
    first.read()
    sock = connection.sock
    for _ in range(2):
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and not response.will_close
        response.read()
        assert connection.sock is sock, "the same connection carried every request"
    connection.close()


def test_half_a_head_is_answered_408_after_timeout(start_server):
    server = start_gevent(start_server, "--timeout", "2")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nX-Half: ")
        answer = sock.makefile("rb").read()  # to the server's close
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    assert b"\r\nConnection: close\r\n" in answer
    assert 1.5 < time.monotonic() - started < 4.5


def test_term_lets_a_slow_request_finish_and_drops_idle_connections(start_server):
    server = start_gevent(start_server, "--keep-alive", "60")
    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    idle.request("GET", "/")
    idle.getresponse().read()  # kept alive, then idle: nothing to wait for at TERM
    answer = []
    slow = threading.Thread(target=lambda: answer.append(server.get("/sleep?seconds=2")))
    slow.start()
    time.sleep(0.5)  # the slow request is in the app
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    slow.join()
    assert status_of(answer[0]) == 200
    assert server.wait(15) == 0
    assert time.monotonic() - started < 10, "the idle keep-alive connection held the worker"
    idle.close()


def test_a_request_that_never_yields_is_killed_by_the_heartbeat(start_server):
    server = start_gevent(start_server, "--timeout", "2")
    first_pid = server.worker_pids()[0]
    answer = server.get("/spin", timeout=20)
    assert answer == b"" or status_of(answer) == 500
    server.wait_for_line(rf"WORKER TIMEOUT \(pid:{first_pid}\)")
    server.wait_for_line(rf"Worker \(pid:{first_pid}\) exited with code 1")
    wait_until(lambda: server.worker_pids() not in ([], [first_pid]), 10, "no new worker")
    assert status_of(server.get("/")) == 200


def test_without_gevent_it_says_how_to_install_it(start_server, tmp_path):
    (tmp_path / "gevent.py").write_text("raise ImportError('No module named gevent')\n")
    server = start_server("-k", "gevent", env={"PYTHONPATH": f"{tmp_path}:{ROOT}"}, app=APP)
    assert server.wait() == 1
    assert "pip install 'unicorn-wsgi[gevent]'" in server.output
    assert "Listening at" not in server.output
