"""The WSGI app that lab 16's tests serve with unicorn. Not yours to change.

Every answer is `ok PATH`, with its Content-Length, so a client can count the answers on one
connection. The app reads the whole body first, as an app must before it answers.
"""


def app(environ, start_response):
    environ["wsgi.input"].read()
    body = f"ok {environ['PATH_INFO']}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
