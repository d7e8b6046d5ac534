"""How a worker decides to close a connection: Connection.can_close_at_once, on real sockets.

Each test connects two real TCP sockets over loopback and asks the kernel,
as the workers do, how much of our response it still holds.
"""

import socket
import time

import pytest

from unicorn.http.parser import Limits, Request
from unicorn.workers.base import UNSENT_LIMIT, Connection, unsent_bytes

REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def connect(request: bytes) -> tuple[socket.socket, Connection]:
    """(client, server's Connection) after the server read ``request``'s head.

    The client's receive buffer is made small and the server's send buffer
    large, so what the client has not read piles up on the server's side,
    where SIOCOUTQ counts it.
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(listener.getsockname())
        sock, peer = listener.accept()
        address = listener.getsockname()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * UNSENT_LIMIT)
    sock.setblocking(False)
    conn = Connection(sock, peer, address, Limits(), timeout=5)
    client.sendall(request)
    assert isinstance(conn.read_request(), Request)
    return client, conn


@pytest.fixture
def pair():
    """A whole GET read, nothing sent yet."""
    client, conn = connect(REQUEST)
    yield client, conn
    client.close()
    conn.close()


def fill_send_queue(conn: Connection) -> int:
    """Send until the kernel takes no more; return how much was sent."""
    sent, piece = 0, b"x" * 65536
    while True:
        try:
            sent += conn.sock.send(piece)
        except BlockingIOError:
            return sent


def test_a_small_response_read_to_the_end_is_closed_at_once(pair):
    client, conn = pair
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
    assert conn.bytes_sent < UNSENT_LIMIT
    assert conn.can_close_at_once()


def test_a_large_response_still_queued_in_the_kernel_is_closed_gently(pair):
    client, conn = pair
    queued = fill_send_queue(conn)
    conn.bytes_sent = queued  # as Connection.send would have counted it
    assert unsent_bytes(conn.sock) > UNSENT_LIMIT
    assert not conn.can_close_at_once()

    # Once the client has read it all, the kernel holds nothing and a plain close is safe.
    received = 0
    while received < queued:
        received += len(client.recv(65536))
    deadline = time.monotonic() + 5  # the last acknowledgement may be delayed a little
    while unsent_bytes(conn.sock) > 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert unsent_bytes(conn.sock) == 0
    assert conn.can_close_at_once()


def test_a_request_with_unread_bytes_is_closed_gently_whatever_was_sent():
    client, conn = connect(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
    assert not conn.can_close_at_once()  # half of the body is unread
    client.close()
    conn.close()
