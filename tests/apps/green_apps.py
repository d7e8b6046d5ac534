"""The WSGI app that tests/test_gevent.py serves with ``-k gevent``.

- ``/sleep?seconds=S``: ``time.sleep(S)``, which the gevent worker's patch makes a wait
  that lets other green threads run;
- ``/spin``: a loop that never waits, so no other green thread ever runs again;
- anything else: the worker's pid.
"""

import os
import time


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleep":
        time.sleep(float(environ["QUERY_STRING"].partition("=")[2] or 0.5))
    elif path == "/spin":
        while True:
            pass
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
