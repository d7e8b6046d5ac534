"""Broken: a worker forks a child per request and forgets to close its own copy of the connection.

The worker runs each request in a short-lived child, as a CGI server runs a script, so that an
app that crashes costs a child and not the worker; it waits for the child, then accepts again.
After fork, both processes hold the connection, and TCP sends end-of-file only when the last
copy is closed. The child answers and closes its copy; the worker's copy stays open until the
next accept() replaces the variable that holds it. The client has its response but never sees
the end of it, and a client that reads until EOF (HTTP/1.0 without Content-Length) hangs.
"""

import os
import socket
import sys

from unicorn.labs.broken.lab06._prefork import Master, main, respond

REPLACES = "prefork"
CAUGHT_BY = ("test_06a_connection_is_closed_after_the_response",)


class CGIMaster(Master):
    def worker_loop(self) -> None:
        while True:
            connection, _ = self.listener.accept()
            self.run_in_child(connection)
            # The mistake: connection.close() belongs here.

    def run_in_child(self, connection: socket.socket) -> None:
        """Answer in a child of this worker, in the worker's name; wait for the child."""
        worker = os.getpid()
        child = os.fork()
        if child == 0:
            respond(connection, pid=worker)
            os._exit(0)
        os.waitpid(child, 0)


if __name__ == "__main__":
    main(sys.argv[1:], CGIMaster)
