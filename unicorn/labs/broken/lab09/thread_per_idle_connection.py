"""Broken: each connection goes to a pool thread the moment it is accepted, and the thread
blocks reading the request head.

It is the obvious way to add a pool to a sync server, and it passes every test that sends its
request at once. But a client that connects and sends nothing, or half a head, or that keeps its
connection alive between requests, owns a thread for as long as it stays silent (up to the
keep-alive timeout here, for ever without one). Two such clients take a pool of two threads, and
everyone else waits: a slowloris needs no bandwidth at all. unicorn's gthread worker reads heads
in its main loop, and a thread sees a connection only once a whole head is in.
"""

import sys

from unicorn.labs.broken.lab09 import _threaded
from unicorn.labs.broken.lab09._threaded import Client, Server, parse_head, respond, split_head

REPLACES = "server"
CAUGHT_BY = ("test_09c_silent_clients_do_not_hold_threads",
             "test_09c_half_a_head_does_not_hold_a_thread",
             "test_09c_kept_alive_connections_do_not_hold_threads")


class ThreadPerIdleConnection(Server):
    def serve_forever(self) -> None:
        self.listener.setblocking(True)
        while True:
            sock, _ = self.listener.accept()
            self.pool.submit(self.serve_blocking, Client(sock))  # the mistake: before the head

    def serve_blocking(self, client: Client) -> None:
        """In a pool thread: read heads with blocking recv() until the client goes quiet."""
        client.sock.settimeout(self.keep_alive)
        with client.sock:
            while True:
                head = split_head(client.buffer)
                while head is None:
                    try:
                        data = client.sock.recv(65536)  # the thread waits here, doing nothing
                    except (TimeoutError, OSError):
                        return
                    if not data:
                        return
                    client.buffer += data
                    head = split_head(client.buffer)
                request = parse_head(head)
                keep = self.keeps_alive(request)
                client.sock.sendall(respond(request, keep))
                if not keep:
                    return


def main(argv: list[str]) -> None:
    _threaded.main(argv, ThreadPerIdleConnection)


if __name__ == "__main__":
    main(sys.argv[1:])
