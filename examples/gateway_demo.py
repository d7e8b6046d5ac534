"""One small route for each decision the gateway makes about a response.

    python -m unicorn --chdir examples gateway_demo:app
    curl -si http://127.0.0.1:8000/bytes          # one bytes object: Content-Length added
    curl -si --raw http://127.0.0.1:8000/stream   # a generator: chunked
    curl -si -0 http://127.0.0.1:8000/stream      # the same to HTTP/1.0: ends at close

The chapter "The WSGI gateway" runs each route and shows what came back.
Every route is an ordinary WSGI application; ``app`` picks one by PATH_INFO.
"""

import sys


def one_bytes_object(environ, start_response):
    """No Content-Length from the app: the server can count one bytes object itself."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the whole body, known at once\n"]


def stream(environ, start_response):
    """A generator: the length is unknown until the last piece."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first piece\n"
    yield b"second piece\n"
    yield b"last piece\n"


def no_content(environ, start_response):
    """204 No Content: no body, so no framing, whatever the app returns."""
    start_response("204 No Content", [])
    return [b"this is never sent"]


def not_modified(environ, start_response):
    """304 Not Modified: the client's cached copy is still good."""
    start_response("304 Not Modified", [("ETag", '"v1"')])
    return []


def fails_before_body(environ, start_response):
    """Raises after start_response but before any byte was sent: the server can still say 500."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    raise RuntimeError("the database went away")


def fails_after_body(environ, start_response):
    """Raises once the head and some body are on the wire: too late for a 500."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"a good start...\n"
    raise RuntimeError("the database went away halfway")


def recovers_with_exc_info(environ, start_response):
    """PEP 3333's way to change your mind: call start_response again with exc_info."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise LookupError("no such report")
    except LookupError:
        start_response("404 Not Found", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"no such report\n"]


def header_injection(environ, start_response):
    """A header value with CR LF in it would let the app forge a header of its own."""
    name = environ.get("QUERY_STRING", "") or "guest"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("X-User", name + "\r\nSet-Cookie: admin=1")])
    return [b"hello\n"]


def upload(environ, start_response):
    """Reads the body: a client that sent Expect: 100-continue is told to go on."""
    body = environ["wsgi.input"].read()
    answer = f"received {len(body)} bytes\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [answer]


def refuse_upload(environ, start_response):
    """Answers without reading the body: the client is never told to send it."""
    start_response("413 Content Too Large", [("Content-Type", "text/plain")])
    return [b"uploads are closed today\n"]


def source_file(environ, start_response):
    """This file, through wsgi.file_wrapper: the worker may use sendfile(2)."""
    start_response("200 OK", [("Content-Type", "text/x-python")])
    return environ["wsgi.file_wrapper"](open(__file__, "rb"))


ROUTES = {
    "/bytes": one_bytes_object,
    "/stream": stream,
    "/no-content": no_content,
    "/not-modified": not_modified,
    "/fails-before-body": fails_before_body,
    "/fails-after-body": fails_after_body,
    "/recovers": recovers_with_exc_info,
    "/header-injection": header_injection,
    "/upload": upload,
    "/refuse-upload": refuse_upload,
    "/source": source_file,
}


def app(environ, start_response):
    route = ROUTES.get(environ["PATH_INFO"])
    if route is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"routes: " + " ".join(ROUTES).encode() + b"\n"]
    return route(environ, start_response)
