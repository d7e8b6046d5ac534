"""The hello-world WSGI application both servers run in bench/gthread_bench.py.

It does as little as a WSGI application can, so a benchmark measures the
server's own work: accepting, parsing, building the environ and writing the
response. Load it as ``apps:app`` with bench/ on the Python path.
"""

BODY = b"Hello, world!\n"
HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(BODY))),
]


def app(environ, start_response):
    """Answer every request with 200 and a fixed 14-byte body."""
    start_response("200 OK", HEADERS)
    return [BODY]
