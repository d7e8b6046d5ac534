"""TLS in the worker: with ``--certfile``, every accepted connection is wrapped in ``ssl``.

Usually TLS should end in a proxy in front of unicorn, which holds the
certificate for every app behind it. This module is for when it must end here.
Because ``ssl.SSLSocket`` has the socket's ``recv`` and ``sendall``, nothing
past the accept knows: the parser, the environ and the response see bytes.
The master loads the files once at startup, so a wrong path or key stops the
server before any fork; each worker builds its own context after fork.

Explained in the chapter "Behind nginx".
gunicorn: ``ssl_context`` and ``ssl_wrap_socket`` in gunicorn/sock.py.
Left out: the ``ssl_context`` hook, ``--ssl-version`` (which gunicorn ignores
too), ``--suppress-ragged-eofs``, ALPN and HTTP/2.
"""

import socket
import ssl

# What a non-blocking recv raises when there is nothing to give yet. With TLS,
# "nothing yet" also means "half a record" or "the handshake is not done".
WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class TLSError(ValueError):
    """The TLS files or settings cannot be used; str() is one line saying why."""


def enabled(cfg) -> bool:
    return cfg.certfile is not None


def make_context(cfg) -> ssl.SSLContext:
    """A server context over the ``ssl`` module's modern defaults.

    ``create_default_context(CLIENT_AUTH)`` is the server side: no SSLv3,
    no compression, Python's vetted cipher list. TLS 1.0 and 1.1 are refused
    (RFC 8996 deprecates them); ``cert_reqs`` 1 or 2 asks the client for a
    certificate signed by a CA in ``ca_certs`` (or, without it, the system's).
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=cfg.ca_certs)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cfg.certfile, cfg.keyfile)
    context.verify_mode = ssl.VerifyMode(cfg.cert_reqs)
    if cfg.ciphers:
        context.set_ciphers(cfg.ciphers)
    return context


def check(cfg) -> None:
    """Build a context once, in the master, so that a mistake stops it before it forks."""
    if not enabled(cfg):
        if cfg.keyfile or cfg.ca_certs:
            raise TLSError("--keyfile and --ca-certs need --certfile, the server's certificate")
        return
    try:
        make_context(cfg)
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        names = ("certfile", "keyfile", "ca_certs")
        files = ", ".join(f"{name}={getattr(cfg, name)}" for name in names if getattr(cfg, name))
        raise TLSError(f"Cannot set up TLS with {files}: {error}") from None


def wrap(context: ssl.SSLContext, sock: socket.socket, handshake_now: bool) -> ssl.SSLSocket:
    """The server side of TLS over an accepted socket.

    ``handshake_now`` (--do-handshake-on-connect) does the handshake here;
    otherwise OpenSSL does it within the first recv or send, which is what
    lets a non-blocking event loop do it a piece at a time.
    """
    return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=handshake_now)


def close_notify(sock: socket.socket) -> None:
    """Tell the client, inside TLS, that we are done (RFC 8446 §6.1), without waiting.

    Without close_notify, a client reading to end-of-file cannot tell our
    end from an attacker cutting the connection. We send ours and leave: the
    socket is made non-blocking, so waiting for the client's reply raises
    SSLWantReadError, ignored like every other error of a connection we close.
    """
    if not isinstance(sock, ssl.SSLSocket):
        return
    try:
        sock.setblocking(False)
        sock.unwrap()
    except (OSError, ValueError):  # ValueError: the TLS layer is gone already (shutdown)
        pass
