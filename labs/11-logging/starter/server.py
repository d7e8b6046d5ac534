"""Lab 11: a tiny HTTP server that writes an access log through your LogFile (logfile.py).

Written for you, and the same for everyone: change logfile.py, not this file.
It answers every request with "ok", writes one line per request to the access log, and
reopens the log when it receives SIGUSR1, as a unicorn worker does.
Try it: python labs/11-logging/starter/server.py --access-logfile /tmp/access.log
        curl http://127.0.0.1:PORT/; mv /tmp/access.log /tmp/access.log.1; kill -USR1 PID
"""

import argparse
import os
import signal
import socket
import sys

from logfile import LogFile  # labs/11-logging/starter/logfile.py, beside this file

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
            b"Connection: close\r\n\r\nok\n")


def read_request_line(connection: socket.socket) -> str:
    """Read the request head up to its blank line; return its first line."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        data = connection.recv(4096)
        if not data:
            break
        head += data
    return head.split(b"\r\n", 1)[0].decode("latin-1")


def serve(listener: socket.socket, log: LogFile) -> None:
    """One connection at a time: answer, close, then write its access log line."""
    while True:
        connection, (host, _) = listener.accept()
        with connection:
            request_line = read_request_line(connection)
            connection.sendall(RESPONSE)
        log.write(f'{host} - - "{request_line}" 200 3')


def main(argv: list[str]) -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--access-logfile", required=True, metavar="FILE")
    log = LogFile(options.parse_args(argv).access_logfile)
    # Python runs this in the main thread, between two steps of whatever serve() was doing.
    signal.signal(signal.SIGUSR1, lambda signum, frame: log.reopen())
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"Listening at: http://127.0.0.1:{listener.getsockname()[1]} (pid {os.getpid()})",
          flush=True)
    try:
        serve(listener, log)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
