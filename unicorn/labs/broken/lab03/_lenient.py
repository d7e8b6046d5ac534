"""The base of lab 3's broken variants: the reference parser, after a lenient rewrite of the head.

A lenient parser reads a doubtful head in one particular way. Each variant writes that reading
out as a rewrite of the head's bytes, and unicorn's strict parser then parses the result, so the
variant behaves exactly as a parser with that one mistake would, and is right about everything
else.
"""

from unicorn.labs.reference.lab03.parser import ParseError, Parser, RequestLine

__all__ = ["LenientParser", "ParseError", "RequestLine"]


class LenientParser(Parser):
    """Holds bytes back until the head is complete, then feeds rewrite_head(head) and the rest."""

    def __init__(self) -> None:
        super().__init__()
        self._held = bytearray()
        self._head_done = False

    def feed(self, data: bytes) -> None:
        if self._head_done:
            super().feed(data)
            return
        self._held += data
        end = self._held.find(b"\r\n\r\n")
        if end != -1:
            self._head_done = True
            head, rest = bytes(self._held[:end + 2]), bytes(self._held[end + 2:])
            super().feed(self.rewrite_head(head) + rest)

    def rewrite_head(self, head: bytes) -> bytes:
        """The head as the lenient parser reads it: lines ending in CRLF, no blank line."""
        raise NotImplementedError
