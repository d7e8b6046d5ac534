"""A shop that answers every route with the right status and a wrong body (lab 15a).

Served by unicorn in test_15a_wrong_answers_are_failures: a locustfile that checks only the
status counts all of this as success. The real shop is examples/shop.py.
"""

import json


def app(environ, start_response):
    """Same routes, statuses and content types as examples/shop.py; every body is wrong."""
    path = environ.get("PATH_INFO", "/")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)  # read the form, as the real shop does, and ignore it
    status, content_type, body = "200 OK", "application/json", b""
    if path == "/":
        content_type = "text/html; charset=utf-8"
        body = b"<!doctype html><html><title>Closed</title><p>Back soon.</p></html>\n"
    elif path == "/api/items":
        body = as_json([{"id": 10 + number, "name": "?", "price": 0.0} for number in range(4)])
    elif path.startswith("/api/items/"):
        body = as_json({"id": 0, "name": "?", "price": 0.0})
    elif path == "/order":
        status = "201 Created"
        body = as_json({"order": 0, "item": 0, "quantity": 0, "total": -1.0})
    elif path == "/slow":
        content_type, body = "text/plain", b"nothing to see\n"
    else:
        status, body = "404 Not Found", as_json({"error": "no such page"})
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def as_json(value) -> bytes:
    return json.dumps(value).encode()
