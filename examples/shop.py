"""A small shop: the application the load tests and the chapter "Load testing" put under load.

    python -m unicorn -w 2 --chdir examples shop:app
    curl http://127.0.0.1:8000/api/items/2
    curl -d 'item=2&quantity=3' http://127.0.0.1:8000/order

Plain WSGI and the standard library only, so what a load test measures is
the server, not a framework. Its routes are the kinds of work a real site
mixes: an HTML page, a JSON API, a form POST whose body the app reads, and
a slow endpoint that sleeps as if it waited on a database (the GIL is
released while it sleeps, as it is while real I/O waits).
"""

import html
import itertools
import json
import time
from urllib.parse import parse_qs

ITEMS = {
    1: {"id": 1, "name": "Horn polish", "price": 4.50},
    2: {"id": 2, "name": "Rainbow mane brush", "price": 12.00},
    3: {"id": 3, "name": "Silver horseshoes (set of 4)", "price": 38.00},
    4: {"id": 4, "name": "Field guide to forests", "price": 21.90},
}
SLOW_SECONDS = 0.05  # how long GET /slow waits, unless ?ms= says otherwise
MAX_FORM_BYTES = 1024  # an order form is a few dozen bytes; refuse more without reading it
order_numbers = itertools.count(1)  # next() on a count is atomic under the GIL: safe in threads


def app(environ, start_response):
    """Route on method and path; every answer has a Content-Length."""
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
    if path == "/":
        answer = allow(method, "GET") or home()
    elif path == "/api/items":
        answer = allow(method, "GET") or as_json("200 OK", list(ITEMS.values()))
    elif path.startswith("/api/items/"):
        answer = allow(method, "GET") or one_item(path.removeprefix("/api/items/"))
    elif path == "/order":
        answer = allow(method, "POST") or order(environ)
    elif path == "/slow":
        answer = allow(method, "GET") or slow(environ)
    else:
        answer = as_json("404 Not Found", {"error": "no such page"})
    status, content_type, body = answer
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if status.startswith("405"):
        headers.append(("Allow", "POST" if path == "/order" else "GET"))
    start_response(status, headers)
    return [body]


def allow(method, expected):
    """None when the method fits the route, else a 405 answer (RFC 9110 §15.5.6)."""
    if method == expected:
        return None
    return as_json("405 Method Not Allowed", {"error": f"use {expected}"})


def home():
    rows = "\n".join(
        f'<li><a href="/api/items/{entry["id"]}">{html.escape(entry["name"])}</a>'
        f' {entry["price"]:.2f}</li>'
        for entry in ITEMS.values()
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>The unicorn shop</title></head>
<body><h1>The unicorn shop</h1>
<ul>
{rows}
</ul>
<form method="post" action="/order">
<input name="item" value="1"> <input name="quantity" value="1"> <button>Order</button>
</form></body></html>
"""
    return "200 OK", "text/html; charset=utf-8", page.encode()


def one_item(text):
    number = int(text) if text.isdigit() else None
    if number not in ITEMS:
        return as_json("404 Not Found", {"error": "no such item"})
    return as_json("200 OK", ITEMS[number])


def order(environ):
    """Read an urlencoded form of exactly CONTENT_LENGTH bytes; 201 with the order, or 400.

    PEP 3333: the app must not read past CONTENT_LENGTH, so it reads that
    many bytes and no more; without a length there is no form to read.
    """
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if not 0 < length <= MAX_FORM_BYTES:
        return as_json("400 Bad Request", {"error": f"send a form of 1 to {MAX_FORM_BYTES} bytes"})
    form = parse_qs(environ["wsgi.input"].read(length).decode("latin-1"))
    item_text = form.get("item", [""])[0]
    quantity_text = form.get("quantity", ["1"])[0]
    if not (item_text.isdigit() and int(item_text) in ITEMS):
        return as_json("400 Bad Request", {"error": "item must be the id of an item"})
    if not (quantity_text.isdigit() and 1 <= int(quantity_text) <= 99):
        return as_json("400 Bad Request", {"error": "quantity must be 1 to 99"})
    chosen, quantity = ITEMS[int(item_text)], int(quantity_text)
    receipt = {"order": next(order_numbers), "item": chosen["id"], "quantity": quantity,
               "total": round(chosen["price"] * quantity, 2)}
    return as_json("201 Created", receipt)


def slow(environ):
    """Wait as a request that queries a database waits: the process sleeps, the CPU is free."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    milliseconds = query.get("ms", [""])[0]
    seconds = int(milliseconds) / 1000 if milliseconds.isdigit() else SLOW_SECONDS
    time.sleep(min(seconds, 5))
    return "200 OK", "text/plain", f"waited {seconds * 1000:.0f} ms\n".encode()


def as_json(status, value):
    return status, "application/json", json.dumps(value).encode()
