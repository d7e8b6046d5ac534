"""The gthread worker from outside: a real ``python -m unicorn -k gthread``, raw sockets.

Each test is one of the ways gunicorn's threaded worker hurts its users
(slow clients pinning threads, stalled bodies, keep-alive surprises), shown
not to happen here. Timing assertions have wide margins; nothing waits by
sleeping, except clients that trickle bytes on purpose.
"""

import signal
import socket
import threading
import time
from dataclasses import dataclass

import pytest

from tests.server import body_of, wait_until

APP = "gthread_apps:app"


def start_gthread(start_server, *args: str, threads: int = 4):
    return start_server("-k", "gthread", "--threads", str(threads), "-w", "1", *args,
                        app=APP).ready()


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class Client:
    """One raw TCP connection to the server, reading responses as HTTP/1.1 frames them."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def get(self, path: str, close: bool = False) -> Response:
        self.send(request(path, close))
        return self.response()

    def head(self) -> tuple[int, dict[str, str]]:
        line = self.reader.readline()
        if not line:
            raise EOFError("the server closed the connection")
        headers = {}
        while (field := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = field.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(line.split()[1]), headers

    def chunk(self) -> bytes:
        size = int(self.reader.readline().split(b";")[0], 16)
        data = self.reader.read(size)
        assert self.reader.read(2) == b"\r\n"
        return data

    def response(self) -> Response:
        status, headers = self.head()
        if "content-length" in headers:
            body = self.reader.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            body = b"".join(iter(self.chunk, b""))
            assert self.reader.readline() == b"\r\n"
        else:
            body = self.reader.read()
        return Response(status, headers, body)

    def wait_for_close(self, timeout: float) -> float:
        """Seconds until the server closes the connection, discarding what it sends."""
        started = time.monotonic()
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        return time.monotonic() - started

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def request(path: str, close: bool = False) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{connection}\r\n".encode()


def timed_get(port: int, path: str = "/") -> tuple[Response, float]:
    started = time.monotonic()
    client = Client(port)
    try:
        response = client.get(path, close=True)
    finally:
        client.close()
    return response, time.monotonic() - started


# -- keep-alive and pipelining ------------------------------------------------


def test_a_thousand_requests_on_one_keep_alive_connection(start_server):
    server = start_gthread(start_server)
    client = Client(server.port)
    for n in range(1000):
        response = client.get(f"/n?{n}")
        assert (response.status, response.body) == (200, f"/n?{n}".encode())
        assert "connection" not in response.headers
    client.close()


def test_fifty_pipelined_requests_in_one_send_are_answered_in_order(start_server):
    server = start_gthread(start_server)
    client = Client(server.port)
    client.send(b"".join(request(f"/pipelined?{n}") for n in range(50)))
    bodies = [client.response().body for _ in range(50)]
    assert bodies == [f"/pipelined?{n}".encode() for n in range(50)]
    client.close()


def test_a_pipelined_head_cut_in_two_is_completed_by_the_main_loop(start_server):
    server = start_gthread(start_server)
    client = Client(server.port)
    second = request("/second")
    client.send(request("/first") + second[:10])
    assert client.response().body == b"/first"
    client.send(second[10:])
    assert client.response().body == b"/second"
    client.close()


def test_an_idle_keep_alive_connection_is_closed_after_keepalive(start_server):
    server = start_gthread(start_server, "--keep-alive", "1")
    client = Client(server.port)
    assert client.get("/one").status == 200
    assert client.get("/two").status == 200  # kept alive between the two
    idle_for = client.wait_for_close(timeout=10)
    assert 0.8 < idle_for < 2.5
    client.close()


# -- slow clients cost a buffer, not a thread ------------------------------------


def test_clients_trickling_headers_do_not_take_threads(start_server):
    server = start_gthread(start_server, threads=4)
    tricklers = [Client(server.port) for _ in range(40)]
    for trickler in tricklers:
        trickler.send(b"GET /never HTTP/1.1\r\nHost: test\r\nX-Slow: ")
    for _ in range(10):
        for trickler in tricklers:
            trickler.send(b"a")
        response, elapsed = timed_get(server.port, "/normal")
        assert response.body == b"/normal"
        assert elapsed < 1.0
        time.sleep(0.2)  # the trickle's pace, not a synchronisation
    for trickler in tricklers:
        trickler.close()


def test_an_app_calling_sys_exit_does_not_cost_a_thread(start_server):
    server = start_gthread(start_server, threads=1)
    for _ in range(3):  # each would end the pool's only thread, if it could
        assert server.get("/exit") == b"", "the app gave no answer, so neither do we"
    assert body_of(server.get("/pid")) == str(server.worker_pids()[0]).encode()
    server.wait_for_line("the app called sys.exit", count=3)


def test_a_trickled_head_is_cut_off_after_timeout_in_total(start_server):
    server = start_gthread(start_server, "--timeout", "2")
    client = Client(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: test\r\nX-Slow: ")
    stop = threading.Event()

    def trickle():  # one byte every 0.2 s: never idle, never complete
        while not stop.wait(0.2):
            try:
                client.sock.send(b"a")
            except OSError:
                return

    trickler = threading.Thread(target=trickle)
    started = time.monotonic()
    trickler.start()
    try:
        status, headers = client.head()
        assert status == 408
        assert headers["connection"] == "close"
        assert 1.5 < time.monotonic() - started < 4.5
    finally:
        stop.set()
        trickler.join()
        client.close()


def test_clients_stalled_mid_body_are_released_after_timeout(start_server):
    server = start_gthread(start_server, "--timeout", "2", threads=4)
    worker = server.worker_pids()
    stalled = [Client(server.port) for _ in range(2)]
    started = time.monotonic()
    for client in stalled:
        client.send(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789")
    while time.monotonic() - started < 1.5:  # the other threads serve while two are held
        response, elapsed = timed_get(server.port, "/meanwhile")
        assert response.body == b"/meanwhile" and elapsed < 1.0
    for client in stalled:
        client.wait_for_close(timeout=10)
        assert 1.5 < time.monotonic() - started < 6
        client.close()
    assert timed_get(server.port, "/after")[0].body == b"/after"
    assert server.worker_pids() == worker  # a stalled client is no reason to kill the worker
    assert "WORKER TIMEOUT" not in server.output


def test_a_response_is_not_lost_when_the_app_leaves_a_large_body_unread(start_server):
    """close() with unread bytes makes the kernel send RST and drop the response
    it has not sent yet; the worker half-closes and lingers instead."""
    server = start_gthread(start_server)
    for _ in range(5):
        client = Client(server.port)
        client.send(b"POST /big?bytes=2000000 HTTP/1.1\r\nHost: test\r\n"
                    b"Content-Length: 4000000\r\n\r\n" + b"x" * 1_000_000)
        response = client.response()  # read only once the body is sent
        assert (response.status, len(response.body)) == (200, 2_000_000)
        client.close()


def test_a_malformed_head_is_answered_400_and_closed(start_server):
    server = start_gthread(start_server)
    client = Client(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: test\r\nBad Header: x\r\n\r\n")
    assert client.response().status == 400
    client.wait_for_close(timeout=5)
    client.close()


# -- threads ---------------------------------------------------------------------


def test_four_slow_requests_run_together_on_four_threads(start_server):
    server = start_gthread(start_server, threads=4)
    timed_get(server.port)  # the worker has loaded the app
    results = []

    def slow():
        results.append(timed_get(server.port, "/sleep?seconds=1"))

    clients = [threading.Thread(target=slow) for _ in range(4)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join(10)
    assert [response.body for response, _ in results] == [b"slept"] * 4
    assert time.monotonic() - started < 1.8


def test_threads_alone_select_gthread_and_wsgi_multithread(start_server):
    server = start_server("--threads", "2", "-w", "1", app=APP).ready()
    server.wait_for_line("Using worker: gthread")
    assert timed_get(server.port, "/multithread")[0].body == b"True"


def test_wsgi_multithread_is_true_even_with_one_thread(start_server):
    server = start_gthread(start_server, threads=1)
    assert timed_get(server.port, "/multithread")[0].body == b"True"


# -- limits ----------------------------------------------------------------------


def test_worker_connections_caps_open_connections(start_server):
    server = start_gthread(start_server, "--worker-connections", "2", "--keep-alive", "30")
    first, second = Client(server.port), Client(server.port)
    assert first.get("/first").status == 200
    assert second.get("/second").status == 200
    third = Client(server.port)  # connects: the kernel queues it
    third.send(request("/third"))
    third.sock.settimeout(1)
    with pytest.raises(TimeoutError):
        third.sock.recv(1, socket.MSG_PEEK)  # not accepted while two connections are open
    third.sock.settimeout(5)
    first.close()
    assert third.response().body == b"/third"
    assert second.get("/second-again").body == b"/second-again"
    second.close()
    third.close()


def test_max_requests_closes_the_connection_and_a_new_worker_serves(start_server):
    server = start_gthread(start_server, "--max-requests", "3")
    client = Client(server.port)
    pids = {client.get("/pid").body for _ in range(2)}
    last = client.get("/pid")
    assert last.headers["connection"] == "close"
    assert {last.body} == pids
    client.wait_for_close(timeout=5)
    client.close()
    server.wait_for_line("Autorestarting worker")
    old_pid = int(last.body)
    wait_until(lambda: server.worker_pids() and old_pid not in server.worker_pids(), 10,
               "the worker was not replaced")
    assert int(timed_get(server.port, "/pid")[0].body) != old_pid


# -- stopping --------------------------------------------------------------------


def test_term_lets_the_request_in_flight_finish(start_server):
    server = start_gthread(start_server)
    client = Client(server.port)
    client.send(request("/stream?seconds=1", close=True))
    assert client.head()[0] == 200
    assert client.chunk() == b"started\n"  # the app is running now
    server.signal(signal.SIGTERM)
    assert client.chunk() == b"finished\n"
    assert client.chunk() == b""
    client.close()
    assert server.wait(15) == 0
    assert "exited with code" not in server.output
    assert "was sent" not in server.output


def test_term_leaves_before_graceful_timeout_if_a_request_never_ends(start_server):
    server = start_gthread(start_server, "--graceful-timeout", "2")
    client = Client(server.port)
    client.send(request("/stream?seconds=60", close=True))
    client.head()
    assert client.chunk() == b"started\n"
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    assert server.wait(15) == 0
    assert time.monotonic() - started < 2.5
    assert "was sent SIGKILL" not in server.output
    assert "still running" in server.output
    client.close()


def test_int_exits_at_once_with_a_request_in_flight(start_server):
    server = start_gthread(start_server)
    client = Client(server.port)
    client.send(request("/stream?seconds=60", close=True))
    client.head()
    assert client.chunk() == b"started\n"
    started = time.monotonic()
    server.signal(signal.SIGINT)
    assert server.wait(15) == 0
    assert time.monotonic() - started < 1.5
    assert "was sent SIGKILL" not in server.output
    client.close()


def test_a_burst_of_keep_alive_clients_is_spread_over_the_workers(start_server):
    server = start_server("-k", "gthread", "--threads", "2", "-w", "2", "--explain",
                          app="server_apps:pid").ready(workers=2)
    # Both workers must be in their loops before the burst: on a loaded machine one may
    # still be booting, and then the other rightly serves everyone.
    server.wait_for_line("booted and is waiting", count=2)
    clients = [Client(server.port) for _ in range(8)]
    try:
        served_by = [int(client.get("/").body) for client in clients]
    finally:
        for client in clients:
            client.close()
    assert set(served_by) == set(server.worker_pids()), served_by
