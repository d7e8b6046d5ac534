"""An application that takes its time: for watching workers, timeouts and threads.

    python -m unicorn --chdir examples -w 2 slow:app
    curl 'http://127.0.0.1:8000/?seconds=3'

With the sync worker, two workers serve two slow requests at once and a
third waits. With ``--timeout 2`` the arbiter kills a worker stuck in a
3-second request, and the client gets a 500. With ``-k gthread --threads 4``
one worker serves four at once.
"""

import os
import time
from urllib.parse import parse_qs


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    seconds = float(query.get("seconds", ["1"])[0])
    time.sleep(seconds)
    body = f"slept {seconds}s in worker {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
