"""Lab 1: two WSGI applications and a middleware (PEP 3333).

Keep the interface (names, arguments, what they return); write the bodies.
Read labs/01-wsgi/README.md first. Run: python -m unicorn.labs check 1 --part a
Serve one yourself: python -m unicorn --chdir labs/01-wsgi/starter apps:hello
"""

HELLO = b"Hello, world!\n"


def hello(environ, start_response):
    """GET / answers 200 with HELLO as text/plain; another method on / answers 405 with an
    Allow header; any other path answers 404. Every response has a Content-Length."""
    raise NotImplementedError("Lab 1a: look at REQUEST_METHOD and PATH_INFO, then answer")


def echo(environ, start_response):
    """Answer 200 with the request's body, exactly CONTENT_LENGTH bytes of wsgi.input,
    as application/octet-stream with a Content-Length."""
    raise NotImplementedError("Lab 1b: read CONTENT_LENGTH bytes from wsgi.input")


def count_requests(app):
    """Return a WSGI app that calls `app` and adds X-Request-Count: N to its response,
    where N counts the requests this wrapper has seen (1 for the first)."""
    raise NotImplementedError("Lab 1c: return a function that wraps app and start_response")


def create_app():
    """What `python -m unicorn --chdir labs/01-wsgi/starter 'apps:create_app()'` serves.
    Already written: it shows how a middleware is put around an app."""
    return count_requests(hello)
