"""The example apps the README and the book use, served by a real unicorn."""

import json

from tests.server import ROOT, body_of, status_of

EXAMPLES = ROOT / "examples"


def test_hello_example(start_server):
    server = start_server("-w", "1", app="hello:app", cwd=EXAMPLES).ready()
    response = server.get("/")
    assert body_of(response) == b"Hello, world!\n"
    assert response.lower().count(b"content-length:") == 1  # the app set it; sent once


def test_slow_example(start_server):
    server = start_server("-w", "1", app="slow:app", cwd=EXAMPLES).ready()
    assert body_of(server.get("/?seconds=0.1")).startswith(b"slept 0.1s in worker ")


def test_flask_example(start_server):
    server = start_server("-w", "1", app="flask_app:app", cwd=EXAMPLES).ready()
    assert body_of(server.get("/")) == b"Hello from Flask on unicorn!\n"
    response = server.request(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              b"Connection: close\r\n\r\nhello")
    assert status_of(response) == 200
    assert json.loads(body_of(response)) == {"received": "hello", "length": 5}


def test_default_bind_and_port_variable(start_server):
    server = start_server("-w", "1", app="hello:app", cwd=EXAMPLES, bind=None, env={"PORT": "0"})
    host, port = server.address()
    assert host == "0.0.0.0" and port > 0
