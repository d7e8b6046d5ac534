"""An application that shows the request back: what the server put in the environ.

    python -m unicorn --chdir examples -w 1 echo_app:app
    curl -s -d 'hello' 'http://127.0.0.1:8000/some/path?x=1'

Useful for seeing what a proxy in front of unicorn really sends (X-Forwarded-*,
Host), and what the parser made of a request. The body read through
``wsgi.input`` is echoed too.
"""

import json


def app(environ, start_response):
    shown = {key: value for key, value in environ.items() if isinstance(value, str)}
    shown["wsgi.url_scheme"] = environ["wsgi.url_scheme"]
    shown["body"] = environ["wsgi.input"].read().decode("latin-1")
    data = json.dumps(shown, indent=2, sort_keys=True).encode() + b"\n"
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
