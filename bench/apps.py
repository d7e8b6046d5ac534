"""The WSGI applications both servers run in bench/compare.py.

``app`` does as little as a WSGI application can, so a benchmark measures
the server's own work: accepting, parsing, building the environ and writing
the response. ``bodies`` moves large bodies, so a benchmark measures how the
server reads and writes them. Load them as ``apps:app`` and ``apps:bodies``
with bench/ on the Python path.
"""

import os

BODY = b"Hello, world!\n"
HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(BODY))),
]
MIB = 1024 * 1024
STREAM_SIZE = 10 * MIB  # what /stream sends
BLOCK_SIZE = 64 * 1024  # the size of each read of the upload, and of each streamed piece
# The file /file sends with wsgi.file_wrapper; compare.py creates it and sets this variable.
FILE_VARIABLE = "BENCH_FILE"


def app(environ, start_response):
    """Answer every request with 200 and a fixed 14-byte body."""
    start_response("200 OK", HEADERS)
    return [BODY]


def upload(environ, start_response):
    """Read the whole request body, a block at a time, and say how long it was."""
    stream, size = environ["wsgi.input"], 0
    while block := stream.read(BLOCK_SIZE):
        size += len(block)
    body = f"{size}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]


def stream(environ, start_response):
    """Send STREAM_SIZE bytes as an iterable of BLOCK_SIZE pieces, as a generator would."""
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(STREAM_SIZE))])
    block = b"x" * BLOCK_SIZE
    return (block for _ in range(STREAM_SIZE // BLOCK_SIZE))


def file(environ, start_response):
    """Send a file with wsgi.file_wrapper (PEP 3333), which a server may send with sendfile(2)."""
    path = os.environ[FILE_VARIABLE]
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(os.path.getsize(path)))])
    return environ["wsgi.file_wrapper"](open(path, "rb"), BLOCK_SIZE)


ROUTES = {"/upload": upload, "/stream": stream, "/file": file}


def bodies(environ, start_response):
    """/upload, /stream and /file as above; anything else is answered by ``app``."""
    return ROUTES.get(environ["PATH_INFO"], app)(environ, start_response)
