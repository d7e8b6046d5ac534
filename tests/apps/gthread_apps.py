"""The WSGI app that tests/test_gthread.py serves with ``-k gthread``.

One app, routed by path, so that one server can answer every kind of request
a test needs:

- ``/sleep?seconds=S``: sleep S seconds in the app, then answer;
- ``/stream?seconds=S``: send a first chunk, sleep S seconds, send the last;
- ``/echo``: read the whole body and send it back;
- ``/multithread``: answer with wsgi.multithread;
- ``/big?bytes=N``: answer with N bytes, without reading the body;
- ``/pid``: answer with the worker's pid;
- ``/exit``: call sys.exit(), as a careless app might;
- anything else: answer with the request's path and query, so that the
  order of pipelined answers can be checked.
"""

import os
import sys
import time


def seconds(environ) -> float:
    return float(environ.get("QUERY_STRING", "").partition("=")[2] or 1)


def plain(start_response, body: bytes) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"started\n"
    time.sleep(seconds(environ))
    yield b"finished\n"


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleep":
        time.sleep(seconds(environ))
        return plain(start_response, b"slept")
    if path == "/stream":
        return stream(environ, start_response)
    if path == "/echo":
        return plain(start_response, environ["wsgi.input"].read())
    if path == "/multithread":
        return plain(start_response, str(environ["wsgi.multithread"]).encode())
    if path == "/big":
        return plain(start_response, b"x" * int(environ["QUERY_STRING"].partition("=")[2]))
    if path == "/pid":
        return plain(start_response, str(os.getpid()).encode())
    if path == "/exit":
        sys.exit("the app called sys.exit()")
    query = environ["QUERY_STRING"]
    return plain(start_response, (path + ("?" + query if query else "")).encode("latin-1"))
