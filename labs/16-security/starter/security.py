"""Lab 16: attack your server before someone else does. A corpus, a checker and a probe.

Part a is not code: it is the request files you write in corpus/ (CORPUS below). Parts b and c
are two functions that talk to a server over TCP; keep their names, arguments and return
values, and write their bodies. Read labs/16-security/README.md first.
Run: python -m unicorn.labs check 16 --part a
"""

from pathlib import Path

# Where your corpus is: NAME.http and NAME.expect pairs (part a).
CORPUS = Path(__file__).with_name("corpus")

# The request hidden_request_answered sends behind the one it is checking.
HIDDEN = b"GET /hidden HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n"
# How long the checker waits for more bytes before it decides the server has said all it will.
QUIET = 1.0
# How often a slowloris connection sends its next byte: often enough that no server sees it
# silent for long.
TRICKLE = 0.2


def hidden_request_answered(address: tuple[str, int], raw: bytes) -> bool:
    """Send `raw` and then HIDDEN on one connection; True if the server answered more than once.

    A server that refuses `raw` must close the connection after its refusal: once the framing
    of one request is in doubt, so is where the next begins. An answer to anything after it
    (HIDDEN, or a request smuggled inside `raw`) means the server read on.
    """
    raise NotImplementedError("Lab 16b: send both, read every answer, count them")


def slow_client(address: tuple[str, int], seconds: float) -> bytes:
    """Connect, send the start of a head, then one more byte every TRICKLE seconds, never the end.

    Return whatever the server sends before `seconds` have passed (b"" if nothing, or if it just
    closed the connection).
    """
    raise NotImplementedError("Lab 16c: trickle a head that never ends; return what came back")


def slowloris(address: tuple[str, int], connections: int, seconds: float) -> bool:
    """Hold `connections` slow clients open, then send one ordinary request.

    True (the server is starved) if the ordinary request got no answer within `seconds`
    while the slow clients trickled; False if it was answered.
    """
    raise NotImplementedError("Lab 16c: slow clients first, then one ordinary request, timed")
