"""Broken: the request line is split with str.split(), on any run of any whitespace.

`method, target, version = line.split()` reads "GET\t/ HTTP/1.1" and "GET  /  HTTP/1.1" as
good requests. RFC 9112 §3 allows exactly one SP between the three parts; a proxy that follows
it sees a different request (or none), and the difference is room for smuggling.
"""

from unicorn.labs.broken.lab03._lenient import LenientParser, ParseError, RequestLine

REPLACES = "parser"
CAUGHT_BY = ("test_03a_malformed_request_line_is_refused",)
__all__ = ["ParseError", "Parser", "RequestLine"]


class Parser(LenientParser):
    def rewrite_head(self, head: bytes) -> bytes:
        request_line, crlf, fields = head.partition(b"\r\n")
        return b" ".join(request_line.split()) + crlf + fields  # the mistake
