"""The smallest WSGI application: the one the README serves.

    python -m unicorn --chdir examples hello:app

PEP 3333 in four lines: the server calls ``app`` once per request with the
request in ``environ`` and a ``start_response`` callable; the app sends the
status and headers through it and returns the body as an iterable of bytes.
"""


def app(environ, start_response):
    body = b"Hello, world!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
