"""The WSGI gateway (PEP 3333), end to end through a real sync worker."""

import json
import os
import socket
import time
from wsgiref.validate import validator

import pytest

from tests.server import body_of, exchange, status_of
from unicorn.http.body import Body
from unicorn.http.environ import build_environ
from unicorn.http.parser import RequestParser
from unicorn.http.response import Response, run_app


def environ_from(server, raw: bytes) -> dict:
    response = server.request(raw)
    assert status_of(response) == 200, response
    return json.loads(body_of(response))


def test_environ_has_every_key_pep_3333_asks_for(start_server):
    server = start_server("-w", "1").ready()
    environ = environ_from(server, b"POST /a%20b/c%2Fd?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n"
                                   b"Content-Type: text/plain\r\nContent-Length: 5\r\nX-Twice: 1\r\n"
                                   b"X-Twice: 2\r\nConnection: close\r\n\r\nhello")
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/a b/c/d"
    assert environ["QUERY_STRING"] == "x=1&y=%20"
    assert environ["RAW_URI"] == "/a%20b/c%2Fd?x=1&y=%20"
    assert environ["SERVER_NAME"] == "127.0.0.1"
    assert environ["SERVER_PORT"] == str(server.port)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["REMOTE_PORT"].isdigit()
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "5"
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert environ["HTTP_HOST"] == "example.com:8080"
    assert environ["HTTP_X_TWICE"] == "1,2"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is False
    assert environ["wsgi.multiprocess"] is True
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True
    assert environ["body"] == "hello"


def test_header_names_with_underscores_are_dropped(start_server):
    server = start_server("-w", "1").ready()
    environ = environ_from(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-User: real\r\nX_User: forged\r\n"
                                   b"Connection: close\r\n\r\n")
    assert environ["HTTP_X_USER"] == "real"


def test_chunked_request_body_reaches_the_app(start_server):
    server = start_server("-w", "1").ready()
    environ = environ_from(server, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                   b"Connection: close\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
                                   b"X-Trailer: t\r\n\r\n")
    assert environ["body"] == "abcde"


def test_x_forwarded_proto_is_trusted_from_localhost_only(start_server):
    server = start_server("-w", "1").ready()
    raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
    assert environ_from(server, raw)["wsgi.url_scheme"] == "https"
    untrusting = start_server("-w", "1", "--forwarded-allow-ips", "10.9.9.9").ready()
    assert environ_from(untrusting, raw)["wsgi.url_scheme"] == "http"


def test_expect_100_continue_is_answered_when_the_app_reads(start_server):
    server = start_server("-w", "1").ready()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"data")
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    assert status_of(rest) == 200
    assert json.loads(body_of(rest))["body"] == "data"


def test_no_100_continue_for_http_1_0(start_server):
    server = start_server("-w", "1").ready()
    response = server.request(b"POST / HTTP/1.0\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
                              b"data")
    assert b"100 Continue" not in response
    assert json.loads(body_of(response))["body"] == "data"


def test_app_crash_gives_500_and_the_worker_lives(start_server):
    server = start_server("-w", "1", app="server_apps:crash").ready()
    worker = server.worker_pids()
    assert status_of(server.get("/")) == 500
    assert status_of(server.get("/")) == 500
    assert server.worker_pids() == worker
    server.wait_for_line("the app crashed on purpose")


def test_crlf_in_an_app_header_becomes_500_and_never_reaches_the_wire(start_server):
    server = start_server("-w", "1", app="server_apps:bad_header").ready()
    response = server.get("/")
    assert status_of(response) == 500
    assert b"stolen" not in response and b"never sent" not in response


def test_head_has_headers_but_no_body(start_server):
    server = start_server("-w", "1", app="server_apps:hello").ready()
    response = server.request(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 200
    assert b"Content-Length: 14\r\n" in response
    assert body_of(response) == b""


def test_streaming_response_is_chunked_on_http_1_1(start_server):
    server = start_server("-w", "1", app="server_apps:streaming").ready()
    response = server.get("/")
    assert b"Transfer-Encoding: chunked\r\n" in response
    assert body_of(response) == b"7\r\npart 0\n\r\n7\r\npart 1\n\r\n7\r\npart 2\n\r\n0\r\n\r\n"
    old = server.request(b"GET / HTTP/1.0\r\n\r\n")
    assert old.startswith(b"HTTP/1.1 200 OK\r\n")  # RFC 9112 §2.3: our version, not theirs
    assert b"Transfer-Encoding" not in old
    assert body_of(old) == b"part 0\npart 1\npart 2\n"


def test_close_is_called_on_the_apps_iterable(start_server, tmp_path):
    marker = tmp_path / "closed"
    server = start_server("-w", "1", app="server_apps:closing",
                          env={"CLOSE_MARKER": str(marker)}).ready()
    assert body_of(server.get("/")).endswith(b"closing\r\n0\r\n\r\n")
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "closed\n"


def test_file_wrapper_sends_the_whole_file(start_server):
    server = start_server("-w", "1", app="server_apps:file").ready()
    response = server.get("/")
    expected = open(os.path.join(os.path.dirname(__file__), "apps", "server_apps.py"), "rb").read()
    assert body_of(response) == expected
    assert f"Content-Length: {len(expected)}\r\n".encode() in response


# -- the gateway without a server: PEP 3333's rules on start_response ---------


def serve_in_memory(app, raw: bytes) -> bytes:
    parser = RequestParser()
    parser.feed(raw)
    request = parser.next_event()
    sent = []
    body = Body(parser, lambda: b"")
    environ = build_environ(request, body, ("127.0.0.1", 80), ("127.0.0.1", 9))
    run_app(app, environ, Response(request, sent.append))
    return b"".join(sent)


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_validator_wrapped_app_passes_through_the_gateway():
    def app(environ, start_response):
        data = environ["wsgi.input"].read(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok:", data]

    raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    response = serve_in_memory(validator(app), raw)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.endswith(b"3\r\nok:\r\n3\r\nabc\r\n0\r\n\r\n")


def test_the_environ_carries_the_wsgi_objects():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return []

    serve_in_memory(app, GET)
    assert seen["wsgi.version"] == (1, 0)
    assert hasattr(seen["wsgi.errors"], "write") and hasattr(seen["wsgi.errors"], "flush")
    assert callable(seen["wsgi.file_wrapper"])
    assert hasattr(seen["wsgi.input"], "read")


def test_start_response_twice_without_exc_info_is_an_error():
    def app(environ, start_response):
        start_response("200 OK", [])
        start_response("500 Oops", [])
        return []

    with pytest.raises(AssertionError):
        serve_in_memory(app, GET)


def test_exc_info_replaces_the_status_before_headers_are_sent():
    def app(environ, start_response):
        start_response("200 OK", [])
        try:
            raise ValueError("late failure")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("Retry-After", "1")], sys.exc_info())
        return [b"later"]

    response = serve_in_memory(app, GET)
    assert response.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Retry-After: 1\r\n" in response


def test_exc_info_after_headers_were_sent_re_raises():
    def app(environ, start_response):
        write = start_response("200 OK", [])
        write(b"started")
        try:
            raise KeyError("boom")
        except KeyError:
            import sys

            start_response("500 Oops", [], sys.exc_info())
        return []

    with pytest.raises(KeyError):
        serve_in_memory(app, GET)


def test_content_length_is_honoured_and_never_exceeded():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "3")])
        return [b"abcdef"]

    assert serve_in_memory(app, GET).endswith(b"\r\n\r\nabc")


def test_the_apps_content_length_is_sent_exactly_once():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2"), ("Content-Type", "text/plain")])
        return [b"ok"]

    response = serve_in_memory(app, GET)
    assert response.lower().count(b"content-length:") == 1
    assert b"\r\nContent-Length: 2\r\n" in response


def test_hop_by_hop_headers_from_the_app_are_dropped():
    def app(environ, start_response):
        start_response("200 OK", [("Transfer-Encoding", "gzip"), ("Keep-Alive", "1"), ("X-Ok", "1")])
        return [b"x"]

    response = serve_in_memory(app, GET)
    assert b"gzip" not in response and b"Keep-Alive" not in response
    assert b"X-Ok: 1\r\n" in response


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_no_body_for_204_and_304(status):
    def app(environ, start_response):
        start_response(status, [])
        return [b"ignored"]

    response = serve_in_memory(app, GET)
    assert response.endswith(b"\r\n\r\n")
    assert b"ignored" not in response and b"Transfer-Encoding" not in response


@pytest.mark.parametrize("status", ["200", "2000 OK", "200 OK\r\nX: y", b"200 OK"])
def test_invalid_status_is_refused(status):
    def app(environ, start_response):
        start_response(status, [])
        return []

    from unicorn.http.response import InvalidResponse

    with pytest.raises(InvalidResponse):
        serve_in_memory(app, GET)


def test_date_and_server_headers_are_added():
    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    response = serve_in_memory(app, GET)
    assert b"\r\nDate: " in response
    assert b"\r\nServer: unicorn/" in response


def test_unread_body_is_drained_before_the_next_request():
    raw = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nGET /"
           b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    parser = RequestParser()
    parser.feed(raw)
    request = parser.next_event()
    body = Body(parser, lambda: b"")

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b""]

    run_app(app, build_environ(request, body, ("h", 1), ("c", 2)), Response(request, lambda d: None))
    assert body.drain()
    assert parser.next_event().target == "/next"


def test_unix_socket_server_name_comes_from_host():
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: site.example:8443\r\n\r\n")
    request = parser.next_event()
    environ = build_environ(request, Body(parser, lambda: b""), "/run/app.sock", "")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("site.example", "8443")


def test_wsgi_input_readline_and_iteration():
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\none\ntwo\nthree")
    parser.next_event()
    body = Body(parser, lambda: b"")
    assert body.readline(2) == b"on"
    assert body.readline() == b"e\n"
    assert list(body) == [b"two\n", b"three"]
    assert body.read() == b""


def test_wsgi_input_never_reads_past_its_message():
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n")
    parser.next_event()
    body = Body(parser, lambda: b"")
    assert body.read(100) == b"abc"
    assert body.readlines() == []
    assert bytes(parser.buffer) == b"GET / HTTP/1.1\r\n"


def test_raw_exchange_helper_reads_until_close(start_server):
    server = start_server("-w", "1", app="server_apps:hello").ready()
    assert exchange(("127.0.0.1", server.port), b"GET / HTTP/1.0\r\n\r\n").endswith(b"Hello, world!\n")


def test_an_unread_upload_does_not_reset_the_response(start_server):
    """The app ignores a 4 MB body; the client must still get the whole answer."""
    server = start_server("-w", "1", app="server_apps:hello").ready()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4194304\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + b"x" * 65536)
        response = b""
        try:
            while chunk := sock.recv(65536):
                response += chunk
        except ConnectionResetError:
            pass
    assert body_of(response) == b"Hello, world!\n"


def test_script_name_from_the_environment_is_taken_off_the_path(start_server):
    server = start_server("-w", "1", "-e", "SCRIPT_NAME=/app").ready()
    environ = environ_from(server, b"GET /app/page?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/page")
    outside = environ_from(server, b"GET /application HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (outside["SCRIPT_NAME"], outside["PATH_INFO"]) == ("", "/application")


def test_a_malformed_body_the_app_answered_gets_exactly_one_response(start_server):
    server = start_server("-w", "1", app="server_apps:refuses_bad_body").ready()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)  # the body ends 7 bytes early
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    assert status_of(response) == 400
    assert body_of(response) == b"the app refused the body"
    assert response.count(b"HTTP/1.1 ") == 1


def test_a_malformed_chunked_body_is_refused_before_the_app_runs(start_server):
    """A chunked body is read whole before the app runs (SpooledBody), so the server answers."""
    server = start_server("-w", "1", app="server_apps:refuses_bad_body").ready()
    response = server.request(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"ZZ\r\n")
    assert status_of(response) == 400
    assert b"the app refused" not in response
    assert response.count(b"HTTP/1.1 ") == 1


def test_middleware_that_replaces_wsgi_input_keeps_the_connection(start_server):
    server = start_server("-k", "gthread", "--threads", "2", "-w", "1",
                          app="server_apps:buffering_middleware").ready()
    first = b"POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    second = b"GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    response = server.request(first + second)
    assert b'"PATH_INFO": "/one"' in response and b'"PATH_INFO": "/two"' in response
    assert b'"body": "abc"' in response


def test_a_status_that_is_not_latin1_becomes_500(start_server):
    server = start_server("-w", "1", app="server_apps:non_latin1_status").ready()
    response = server.get("/")
    assert status_of(response) == 500
    assert b"never sent" not in response


def test_headers_wait_for_the_first_non_empty_bytes(start_server):
    server = start_server("-w", "1", app="server_apps:empty_then_crash").ready()
    assert status_of(server.get("/")) == 500


def test_repeated_equal_content_lengths_reach_the_app_as_one_number():
    seen = {}

    def app(environ, start_response):
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read(10)
        start_response("200 OK", [])
        return []

    serve_in_memory(app, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                         b"Content-Length: 3\r\n\r\nabc")
    assert seen == {"length": "3", "body": b"abc"}


def test_exc_info_from_204_to_500_frames_the_new_body():
    def app(environ, start_response):
        start_response("204 No Content", [])
        try:
            raise ValueError("changed its mind")
        except ValueError:
            import sys

            start_response("500 Internal Server Error", [("Content-Length", "4")], sys.exc_info())
        return [b"oops"]

    response = serve_in_memory(app, GET)
    assert response.startswith(b"HTTP/1.1 500 ")
    assert response.endswith(b"\r\n\r\noops")


def test_an_app_cannot_send_an_interim_status():
    def app(environ, start_response):
        start_response("100 Continue", [])
        return []

    from unicorn.http.response import InvalidResponse

    with pytest.raises(InvalidResponse):
        serve_in_memory(app, GET)


def test_no_content_length_on_a_204_even_if_the_app_sets_one():
    def app(environ, start_response):
        start_response("204 No Content", [("Content-Length", "0")])
        return []

    assert b"content-length" not in serve_in_memory(app, GET).lower()


def test_an_empty_response_is_framed_with_content_length_zero():
    def app(environ, start_response):
        start_response("200 OK", [])
        return iter([])

    response = serve_in_memory(app, GET)
    assert b"Content-Length: 0\r\n" in response and b"chunked" not in response
