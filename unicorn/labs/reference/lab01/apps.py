"""Lab 1's reference: two WSGI applications and a middleware, written out plainly.

unicorn is a server, and this lab is the application side of PEP 3333, so there is no unicorn
code to adapt: these are the small, correct answers. The gateway side that calls them is
unicorn/http/wsgi.py (chapter 4).
"""

import itertools

HELLO = b"Hello, world!\n"


def hello(environ, start_response):
    """GET / says hello; another method on / is 405 (RFC 9110 §15.5.6), any other path 404."""
    if environ["PATH_INFO"] != "/":
        return respond(start_response, "404 Not Found", b"Not Found\n")
    if environ["REQUEST_METHOD"] != "GET":
        return respond(start_response, "405 Method Not Allowed", b"Method Not Allowed\n",
                       [("Allow", "GET")])
    return respond(start_response, "200 OK", HELLO)


def echo(environ, start_response):
    """Send the body back. Read exactly CONTENT_LENGTH bytes (PEP 3333, "Input and Error
    Streams"): reading further waits for bytes the client will never send."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return respond(start_response, "200 OK", body, content_type="application/octet-stream")


def respond(start_response, status, body, headers=(), content_type="text/plain"):
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body))), *headers])
    return [body]


def count_requests(app):
    """Wrap `app` so each response carries X-Request-Count, this wrapper's count of requests.

    The count lives in the wrapper, not in a global, so two wrapped apps count separately.
    The wrapper returns the app's iterable itself, so the server's close() reaches it, and passes
    exc_info on, so an app can still replace its headers after an error (PEP 3333).
    """
    counter = itertools.count(1)

    def counted(environ, start_response):
        number = next(counter)

        def start_counted(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Request-Count", str(number))], exc_info)

        return app(environ, start_counted)

    return counted


def create_app():
    """What `python -m unicorn 'apps:create_app()'` serves: hello, counted."""
    return count_requests(hello)
