"""HTTP semantics that real clients and frameworks hit, over a real server, on both workers.

Each test is one thing found by running real clients against Flask, Django,
Falcon, Bottle and Pyramid apps (issue 12). Flask is used as itself; the
others are copied by the plain WSGI apps of tests/apps/framework_apps.py.
"""

import http.client
import json
import socket
import struct
import time

import pytest

from tests.server import body_of, status_of

WORKERS = {
    "sync": ("-w", "1"),
    "gthread": ("-w", "1", "-k", "gthread", "--threads", "2"),
}


@pytest.fixture(params=list(WORKERS))
def worker(request):
    return WORKERS[request.param]


def head_of(response: bytes) -> str:
    return response.partition(b"\r\n\r\n")[0].decode("latin-1")


def header(response: bytes, name: str) -> str | None:
    for line in head_of(response).split("\r\n")[1:]:
        field, _, value = line.partition(":")
        if field.lower() == name.lower():
            return value.strip()
    return None


# -- HEAD --------------------------------------------------------------------


def test_head_of_a_streamed_flask_response_invents_no_content_length(start_server, worker):
    server = start_server(*worker, app="framework_apps:flask_app").ready()
    response = server.request(b"HEAD /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 200
    assert header(response, "Content-Length") is None, head_of(response)
    assert header(response, "Transfer-Encoding") is None and body_of(response) == b""
    # The GET is still framed: chunked, the 5 MiB arrive.
    get = server.request(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert header(get, "Transfer-Encoding") == "chunked"


def test_head_to_an_endless_stream_returns_and_closes_the_iterable(start_server, worker, tmp_path):
    marker = tmp_path / "closed"
    server = start_server(*worker, app="framework_apps:events",
                          env={"CLOSE_MARKER": str(marker)}).ready()
    start = time.monotonic()
    response = server.request(b"HEAD /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              timeout=5)
    assert status_of(response) == 200 and body_of(response) == b""
    assert header(response, "Content-Type") == "text/event-stream"
    assert time.monotonic() - start < 3
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "closed\n"


def test_head_to_an_endless_stream_keeps_the_connection_on_gthread(start_server):
    """The thread is free again: the next request on the same connection is answered."""
    server = start_server(*WORKERS["gthread"], "--threads", "1", app="framework_apps:events",
                          env={"CLOSE_MARKER": "/dev/null"}).ready()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(b"HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += sock.recv(1)
            assert head.startswith(b"HTTP/1.1 200 ") and b"Connection: close" not in head


# -- Connection: close when the request's body is left unread ---------------------


def pooled_client(server) -> http.client.HTTPConnection:
    """http.client keeps one connection and reuses it unless a response said close."""
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def test_a_large_unread_body_is_answered_with_connection_close(start_server):
    server = start_server(*WORKERS["gthread"], app="framework_apps:ignores_body").ready()
    client = pooled_client(server)
    client.request("POST", "/", body=b"x" * (200 * 1024))
    response = client.getresponse()
    assert response.getheader("Connection") == "close"
    assert response.read() == b"did not read the body\n"
    # The pooled client knows to open a new connection; before, it sent its
    # second request into the closing one and got RemoteDisconnected.
    client.request("GET", "/")
    assert client.getresponse().read() == b"did not read the body\n"


def test_a_small_unread_body_is_skipped_and_the_connection_kept(start_server):
    server = start_server(*WORKERS["gthread"], app="framework_apps:ignores_body").ready()
    client = pooled_client(server)
    client.request("POST", "/", body=b"x" * 1024)
    response = client.getresponse()
    assert response.getheader("Connection") is None
    response.read()
    sock = client.sock
    client.request("GET", "/")
    assert client.getresponse().read() == b"did not read the body\n"
    assert client.sock is sock  # the same connection carried both


def test_a_body_never_asked_for_with_100_continue_gets_connection_close(start_server, worker):
    server = start_server(*worker, app="framework_apps:ignores_body").ready()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert b"100 Continue" not in response
    assert header(response, "Connection") == "close"
    assert body_of(response) == b"did not read the body\n"


# -- chunked request bodies ----------------------------------------------------------


def chunked(body: bytes, size: int = 4096) -> bytes:
    pieces = [body[at:at + size] for at in range(0, len(body), size)]
    return b"".join(b"%x\r\n%b\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def post_chunked(server, path: str, body: bytes) -> bytes:
    return server.request(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked(body))


@pytest.mark.parametrize("app", ["content_length_only", "bottle_like"])
def test_a_chunked_body_reaches_an_app_that_reads_only_content_length(start_server, worker, app):
    server = start_server(*worker, app=f"framework_apps:{app}").ready()
    response = post_chunked(server, "/", b"hello, chunked world")
    assert status_of(response) == 200, response
    seen = json.loads(body_of(response))
    assert seen == {"body": "hello, chunked world", "CONTENT_LENGTH": "20",
                    "HTTP_TRANSFER_ENCODING": None}


def test_a_chunked_body_larger_than_memory_is_spooled_and_arrives_whole(start_server, worker):
    server = start_server(*worker, app="framework_apps:flask_app").ready()
    data = bytes(range(256)) * 4096  # 1 MiB: past SPOOL_IN_MEMORY, so in a temporary file
    response = post_chunked(server, "/upload", data)
    assert status_of(response) == 200, response[:300]
    assert json.loads(body_of(response))["body"].encode("latin-1") == data


def test_a_chunked_body_over_limit_request_body_is_refused_with_413(start_server, worker):
    server = start_server(*worker, "--limit-request-body", "1000",
                          app="framework_apps:content_length_only").ready()
    response = post_chunked(server, "/", b"x" * 5000)
    assert status_of(response) == 413 and header(response, "Connection") == "close"
    assert status_of(post_chunked(server, "/", b"x" * 1000)) == 200


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_asked_for(start_server,
                                                                                worker):
    server = start_server(*worker, "--limit-request-body", "1000",
                          app="framework_apps:content_length_only").ready()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert status_of(response) == 413 and b"100 Continue" not in response


# -- the access log of an aborted sendfile download ---------------------------------


def test_an_aborted_sendfile_download_logs_the_bytes_sent(start_server, worker, tmp_path):
    big = tmp_path / "big.bin"
    size = 64 * 1024 * 1024  # far more than the kernel's socket buffers hold
    with open(big, "wb") as file:
        file.truncate(size)
    server = start_server(*worker, "--access-logfile", "-", app="framework_apps:big_file",
                          env={"BIG_FILE": str(big)}).ready()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = 0
        while received < 1024 * 1024:
            received += len(sock.recv(65536))
        # Close with RST, as a client that gives up does: the server's next send fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    match = server.wait_for_line(r'"GET /big HTTP/1.1" 200 (\d+)')
    head = 1000  # received counts the head too, which is shorter than this
    assert received - head <= int(match.group(1)) < size


# -- scheme headers ----------------------------------------------------------------


def scheme_of(server, *fields: bytes) -> bytes | str:
    """wsgi.url_scheme as the echo app saw it, or the refusal's status line."""
    response = server.request(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(f + b"\r\n" for f in fields)
                              + b"Connection: close\r\n\r\n")
    if status_of(response) != 200:
        return response.split(b"\r\n")[0]
    return json.loads(body_of(response))["wsgi.url_scheme"]


def test_each_of_gunicorns_scheme_headers_is_honoured_from_a_trusted_proxy(start_server, worker):
    server = start_server(*worker).ready()
    assert scheme_of(server) == "http"
    assert scheme_of(server, b"X-Forwarded-Proto: https") == "https"
    assert scheme_of(server, b"X-Forwarded-Ssl: on") == "https"
    assert scheme_of(server, b"X-Forwarded-Protocol: ssl") == "https"
    assert scheme_of(server, b"X-Forwarded-Proto: https", b"X-Forwarded-Ssl: on") == "https"
    assert scheme_of(server, b"X-Forwarded-Proto: HTTPS") == "http"  # exact, as in gunicorn


def test_scheme_headers_that_contradict_each_other_are_refused(start_server, worker):
    server = start_server(*worker).ready()
    refused = b"HTTP/1.1 400 Bad Request"
    assert scheme_of(server, b"X-Forwarded-Proto: https", b"X-Forwarded-Ssl: off") == refused
    assert scheme_of(server, b"X-Forwarded-Proto: http", b"X-Forwarded-Proto: https") == refused
    assert scheme_of(server, b"X-Forwarded-Ssl: on", b"X-Forwarded-Protocol: tls") == refused


def test_scheme_headers_from_an_untrusted_peer_are_ignored_even_when_they_disagree(start_server):
    server = start_server("-w", "1", "--forwarded-allow-ips", "10.9.9.9").ready()
    assert scheme_of(server, b"X-Forwarded-Proto: https") == "http"
    assert scheme_of(server, b"X-Forwarded-Proto: https", b"X-Forwarded-Ssl: off") == "http"


def test_secure_scheme_headers_is_set_in_the_config_file(start_server, tmp_path):
    config = tmp_path / "unicorn.conf.py"
    config.write_text('secure_scheme_headers = {"X-Scheme": "https"}\n')
    server = start_server("-w", "1", "-c", str(config)).ready()
    assert scheme_of(server, b"X-Scheme: https") == "https"
    assert scheme_of(server, b"X-Forwarded-Proto: https") == "http"  # no longer listed
