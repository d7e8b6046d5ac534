"""Apps that behave as real frameworks do, for tests/test_semantics.py.

Flask is a test dependency, so it is used as itself. Django, Falcon and
Bottle are not, so plain WSGI apps copy the one habit of theirs that a test
needs, each named after the framework and saying which habit it copies.
"""

import json
import os
import time

from flask import Flask, Response, request

flask_app = Flask(__name__)


@flask_app.route("/stream")
def flask_stream():
    """A streamed response of known size: werkzeug answers a HEAD with an empty iterable."""
    return Response((b"x" * 1024 for _ in range(5 * 1024)), mimetype="application/octet-stream")


@flask_app.route("/upload", methods=["POST"])
def flask_upload():
    """request.get_data() reads wsgi.input up to CONTENT_LENGTH, as werkzeug does."""
    return {"body": request.get_data().decode("latin-1")}


def content_length_only(environ, start_response):
    """Django and Falcon: read exactly CONTENT_LENGTH bytes; no CONTENT_LENGTH, no body.

    Django's WSGIRequest wraps wsgi.input in a LimitedStream of CONTENT_LENGTH
    bytes, and Falcon's bounded stream does the same.
    """
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    data = json.dumps({"body": body.decode("latin-1"),
                       "CONTENT_LENGTH": environ.get("CONTENT_LENGTH"),
                       "HTTP_TRANSFER_ENCODING": environ.get("HTTP_TRANSFER_ENCODING")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [data]


def bottle_like(environ, start_response):
    """Bottle: a Transfer-Encoding of chunked in the environ means it de-chunks wsgi.input itself.

    Bottle's BaseRequest._body reads chunk-size lines from wsgi.input when
    HTTP_TRANSFER_ENCODING says chunked, and answers 400 ("Error while parsing
    chunked transfer body") when what it reads is not chunked.
    """
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        size_line = environ["wsgi.input"].readline()
        try:
            int(size_line.split(b";")[0], 16)
        except ValueError:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"Error while parsing chunked transfer body."]
    return content_length_only(environ, start_response)


def ignores_body(environ, start_response):
    """Answers without reading the request's body: a 413, a redirect, a cached page."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"did not read the body\n"]


class EventStream:
    """Server-sent events: an event every 50 ms, forever; close() is noted in a file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __iter__(self):
        while True:
            yield b"data: tick\n\n"
            time.sleep(0.05)

    def close(self) -> None:
        with open(self.marker, "a") as file:
            file.write("closed\n")


def events(environ, start_response):
    """An endless stream, sent as is to HEAD too, as most hand-written SSE endpoints do."""
    start_response("200 OK", [("Content-Type", "text/event-stream")])
    return EventStream(os.environ["CLOSE_MARKER"])


def big_file(environ, start_response):
    """A large file through wsgi.file_wrapper, so through sendfile(2)."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](open(os.environ["BIG_FILE"], "rb"))
