"""HTTP/1.1 for unicorn: bytes become requests, and app answers become bytes.

``parser`` knows HTTP syntax and nothing of sockets; ``framing`` reads the
header fields that decide where a message ends; ``body`` is wsgi.input;
``environ`` builds the environ; ``response`` checks and writes the app's
answer; ``errors`` names each way a request can be refused, with its status.

Explained in the chapters "Parsing HTTP/1.1" and "The WSGI gateway".
gunicorn: gunicorn/http/.
"""
