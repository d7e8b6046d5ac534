"""Why a request was refused: one exception class for each rule it broke.

Every class carries the HTTP status the worker answers with, so the parser
only has to say *what* went wrong and the worker only has to say it back.
After any of these the connection is closed: once the framing of one message
is in doubt, nothing that follows it on the same connection can be trusted.

Explained in the chapter "Parsing HTTP/1.1".
gunicorn: gunicorn/http/errors.py (same statuses, fewer classes).
"""


class HTTPError(Exception):
    """A request the server refuses; ``status`` is what the client is told."""

    status = 400
    reason = "Bad Request"


class IncompleteRequest(HTTPError):
    """The peer closed the connection in the middle of a request."""


class InvalidRequestLine(HTTPError):
    """The request line is not ``method SP target SP version CRLF`` (RFC 9112 §3)."""


class InvalidMethod(HTTPError):
    """The method is not an upper-case token (RFC 9110 §9.1)."""


class InvalidTarget(HTTPError):
    """The request target is not a form allowed for this method (RFC 9112 §3.2)."""


class InvalidVersion(HTTPError):
    """The version is not ``HTTP/`` DIGIT ``.`` DIGIT (RFC 9112 §2.3)."""


class InvalidHeader(HTTPError):
    """A header line breaks the field syntax of RFC 9112 §5 / RFC 9110 §5.5."""


class ObsoleteFolding(InvalidHeader):
    """A header continued on the next line (obs-fold), refused as RFC 9112 §5.2 allows."""


class RepeatedField(InvalidHeader):
    """A field that holds one value was sent twice (RFC 9110 §5.3); see SINGLETON_FIELDS."""


class InvalidHost(HTTPError):
    """HTTP/1.1 needs exactly one valid Host header (RFC 9112 §3.2)."""


class InvalidFraming(HTTPError):
    """Content-Length and Transfer-Encoding do not say one clear thing (RFC 9112 §6)."""


class InvalidChunk(HTTPError):
    """A chunk size line, chunk data or trailer is malformed (RFC 9112 §7.1)."""


class UnsupportedTransferCoding(HTTPError):
    """A transfer coding we do not implement (RFC 9112 §6.1: answer 501)."""

    status = 501
    reason = "Not Implemented"


class ExpectationFailed(HTTPError):
    """An Expect header other than ``100-continue`` (RFC 9110 §10.1.1)."""

    status = 417
    reason = "Expectation Failed"


class VersionNotSupported(HTTPError):
    """A major version other than HTTP/1 (RFC 9110 §15.6.6)."""

    status = 505
    reason = "HTTP Version Not Supported"


class ContentTooLarge(HTTPError):
    """A body longer than ``limit_request_body`` (RFC 9110 §15.5.14)."""

    status = 413
    reason = "Content Too Large"


class InvalidSchemeHeaders(HTTPError):
    """Trusted scheme headers that disagree about https (gunicorn's InvalidSchemeHeaders)."""


class RequestTimeout(HTTPError):
    """No complete request head within ``timeout`` (RFC 9110 §15.5.9)."""

    status = 408
    reason = "Request Timeout"


class RequestLineTooLong(HTTPError):
    """The request line is longer than ``limit_request_line``."""

    status = 414
    reason = "URI Too Long"


class HeadersTooLarge(HTTPError):
    """Too many header fields, or one longer than ``limit_request_field_size``."""

    status = 431
    reason = "Request Header Fields Too Large"
