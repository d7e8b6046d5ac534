"""Broken: obs-fold is accepted, so a line starting with a space or tab continues the field above.

HTTP/1.0 parsers joined such lines; RFC 9112 §5.2 deprecates it, and a server may refuse it
with 400, as unicorn does. Accepting it means that "X: a" followed by " Transfer-Encoding: chunked"
is one harmless field to us and two fields to a proxy that does not fold, or the other way round.
"""

import re

from unicorn.labs.broken.lab03._lenient import LenientParser, ParseError, RequestLine

REPLACES = "parser"
CAUGHT_BY = ("test_03b_obs_fold_is_refused",)
__all__ = ["ParseError", "Parser", "RequestLine"]


class Parser(LenientParser):
    def rewrite_head(self, head: bytes) -> bytes:
        return re.sub(rb"\r\n[ \t]+", b" ", head)  # the mistake: unfold instead of refusing
