"""Broken: a request with both Content-Length and Transfer-Encoding is framed by Content-Length.

This is the CL.TE request smuggling of 2005 and of James Kettle's 2019 talk: a front end that
honours Transfer-Encoding forwards the whole chunked body, we stop after Content-Length bytes,
and the rest is read as a second request that the front end never saw. RFC 9112 §6.1 says such
a message "ought to be handled as an error"; unicorn refuses it with 400.
"""

import re

from unicorn.labs.broken.lab03._lenient import LenientParser, ParseError, RequestLine

REPLACES = "parser"
CAUGHT_BY = ("test_03c_both_framings_are_refused",)
__all__ = ["ParseError", "Parser", "RequestLine"]

TRANSFER_ENCODING_LINE = re.compile(rb"(?im)^transfer-encoding:[^\r]*\r\n")


class Parser(LenientParser):
    def rewrite_head(self, head: bytes) -> bytes:
        if re.search(rb"(?im)^content-length:", head):
            return TRANSFER_ENCODING_LINE.sub(b"", head)  # the mistake: Content-Length wins
        return head
