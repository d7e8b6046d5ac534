"""What a request's header fields mean for the message: its length, its host, its connection.

The parser checks syntax; this module reads the few fields that decide how
the bytes after the head are framed and how the request is answered. This is
where request smuggling is stopped, so every rule cites RFC 9112 or 9110.

Explained in the chapter "Parsing HTTP/1.1".
gunicorn: the second half of gunicorn/http/message.py.
Left out: transfer codings other than chunked, and any leniency about
framing; where two readings are possible, the request is refused.
"""

import re
from dataclasses import dataclass

from unicorn.http import errors

# The fields this module reads: where the body ends, who the request is
# for, whether the connection stays open, and what the client expects.
FIELDS_READ_HERE = ("HOST", "CONTENT-LENGTH", "TRANSFER-ENCODING", "CONNECTION", "EXPECT")
# RFC 9112 §3.2 / RFC 3986 §3.2.2: Host = uri-host [ ":" port ], where a
# host is a bracketed IP-literal or a reg-name of unreserved, sub-delims and
# %HH characters (each "%" is checked separately, which keeps the pattern
# free of nested repetition and so of catastrophic backtracking).
HOST_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[-!$&'()*+,;=.~0-9A-Za-z_%]*)(:[0-9]*)?")
BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 9110 §5.3: a field may appear more than once only if its value is a
# comma-separated list (#rule), which a recipient may then join with commas.
# These request fields hold one value: joined, two of them would make a value
# nobody sent ("application/json,text/html"), and a proxy that kept the first
# would disagree with an app that read the last. Each maps to its definition.
# Host and Content-Length have rules of their own (check_host,
# parse_content_length); fields that only responses carry are left out.
SINGLETON_FIELDS = {
    "CONTENT-TYPE": "RFC 9110 §8.3",
    "CONTENT-LOCATION": "RFC 9110 §8.7",
    "CONTENT-RANGE": "RFC 9110 §14.4",
    "AUTHORIZATION": "RFC 9110 §11.6.2",
    "PROXY-AUTHORIZATION": "RFC 9110 §11.7.2",
    "FROM": "RFC 9110 §10.1.2",
    "REFERER": "RFC 9110 §10.1.3",
    "USER-AGENT": "RFC 9110 §10.1.5",
    "MAX-FORWARDS": "RFC 9110 §7.6.2",
    "DATE": "RFC 9110 §6.6.1",
    "IF-MODIFIED-SINCE": "RFC 9110 §13.1.3",
    "IF-UNMODIFIED-SINCE": "RFC 9110 §13.1.4",
    "IF-RANGE": "RFC 9110 §13.1.5",
    "RANGE": "RFC 9110 §14.2",
    "AGE": "RFC 9111 §5.1",
    "EXPIRES": "RFC 9111 §5.3",
}


def is_valid_host(text: str) -> bool:
    """uri-host [":" port] (RFC 3986 §3.2.2); the host part may be empty."""
    if not HOST_RE.fullmatch(text):
        return False
    return "%" not in text or not BAD_PERCENT_RE.search(text)


def list_members(values: list[str]) -> list[str]:
    """The members of a comma-separated list, which may be spread over several
    fields (RFC 9110 §5.6.1, §5.3): stripped of OWS and lower-cased."""
    return [member.strip(" \t").lower() for value in values for member in value.split(",")]


@dataclass
class FramingFields:
    """What the framing fields say, as the five fields of the same name on a Request."""

    host: str | None  # the target's authority when absolute-form, else Host; None without either
    content_length: int | None  # the body's length; None when chunked, 0 when there is no body
    chunked: bool  # Transfer-Encoding: chunked
    keep_alive: bool  # the client's wish, from Connection and the version
    expect_continue: bool  # Expect: 100-continue from an HTTP/1.1 client


def read_framing_fields(version: str, target_host: str | None,
                        headers: list[tuple[str, str]]) -> FramingFields:
    """Read the fields that change how the message is framed or answered.

    ``target_host`` is the authority of an absolute-form target, if any.
    """
    found: dict[str, list[str]] = {name: [] for name in FIELDS_READ_HERE}
    for name, value in headers:
        if name in found:
            found[name].append(value)
    # Checked in this order, so that a request breaking two rules always gets the same answer.
    host = check_host(version, target_host, found["HOST"])
    content_length, chunked = body_framing(version, found["CONTENT-LENGTH"],
                                           found["TRANSFER-ENCODING"])
    refuse_repeated_singletons(headers)
    keep_alive = client_keep_alive(version, found["CONNECTION"])
    expect_continue = expects_continue(version, found["EXPECT"])
    # Positional, for speed, as the parser builds its Request (RequestParser._read_head).
    return FramingFields(host, content_length, chunked, keep_alive, expect_continue)


def check_host(version: str, target_host: str | None, hosts: list[str]) -> str | None:
    """HTTP/1.1 requests carry exactly one valid Host (RFC 9112 §3.2); return the host."""
    if len(hosts) > 1:
        raise errors.InvalidHost("more than one Host header")
    if not hosts:
        if version == "HTTP/1.1":
            raise errors.InvalidHost("HTTP/1.1 request without a Host header")
        return target_host
    if not is_valid_host(hosts[0]):
        raise errors.InvalidHost(f"invalid Host header {hosts[0][:40]!r}")
    # §3.2.2: with an absolute-form target, its authority wins over Host.
    return hosts[0] if target_host is None else target_host


def refuse_repeated_singletons(headers: list[tuple[str, str]]) -> None:
    """A field that holds one value may be sent once (RFC 9110 §5.3, SINGLETON_FIELDS)."""
    seen = set()
    for name, _ in headers:
        if name in SINGLETON_FIELDS:
            if name in seen:
                raise errors.RepeatedField(f"{name} sent more than once ({SINGLETON_FIELDS[name]})")
            seen.add(name)


def body_framing(version: str, lengths: list[str], codings: list[str]) -> tuple[int | None, bool]:
    """Decide where the body ends (RFC 9112 §6.1-6.3), refusing any ambiguity.

    Returns (content_length, chunked). Ambiguous framing is how requests are
    smuggled: if a proxy in front of us reads the body's length one way and
    we read it another, the rest of the body becomes a second request that
    the proxy never checked.
    """
    if codings:
        if lengths:
            raise errors.InvalidFraming("both Content-Length and Transfer-Encoding")
        if version == "HTTP/1.0":
            raise errors.InvalidFraming("Transfer-Encoding in an HTTP/1.0 request")
        check_transfer_codings(codings)
        return None, True
    if lengths:
        return parse_content_length(lengths), False
    return 0, False  # requests without framing have no body (§6.3)


def check_transfer_codings(values: list[str]) -> None:
    """Accept exactly one coding, ``chunked``, the only one we decode.

    A final coding other than chunked leaves the length unknowable (400); a
    coding before chunked, such as gzip, is one we do not implement (501).
    gunicorn passes gzip-then-chunked bodies to the app still compressed.
    Empty list members, which RFC 9110 §5.6.1 would let us skip, are refused
    here: "chunked," is read differently by different proxies.
    """
    codings = list_members(values)
    if "" in codings or codings[-1] != "chunked" or codings.count("chunked") > 1:
        raise errors.InvalidFraming("Transfer-Encoding must end with a single chunked")
    if len(codings) > 1:
        raise errors.UnsupportedTransferCoding(f"transfer coding {codings[0]!r}")


def parse_content_length(values: list[str]) -> int:
    """Content-Length = 1*DIGIT (RFC 9110 §8.6); repeated values must all agree."""
    found = set(list_members(values))
    if len(found) != 1:
        raise errors.InvalidFraming("Content-Length values disagree")
    text = found.pop()
    if not (text.isdigit() and text.isascii()):
        raise errors.InvalidFraming(f"invalid Content-Length {text[:20]!r}")
    return int(text)


def client_keep_alive(version: str, values: list[str]) -> bool:
    """Does the client want the connection kept? Connection is a comma-separated
    list of tokens (RFC 9110 §7.6.1); HTTP/1.1 keeps by default (RFC 9112 §9.3)."""
    options = list_members(values)
    if version == "HTTP/1.1":
        return "close" not in options
    return "keep-alive" in options and "close" not in options


def expects_continue(version: str, values: list[str]) -> bool:
    """Only 100-continue is understood (RFC 9110 §10.1.1), and not from HTTP/1.0.

    Expect is a list; every member must be 100-continue, or the answer is 417.
    """
    if not values:
        return False
    members = set(list_members(values)) - {""}
    unknown = sorted(members - {"100-continue"})
    if unknown or not members:
        raise errors.ExpectationFailed(f"cannot meet expectation {(unknown or [''])[0][:40]!r}")
    return version == "HTTP/1.1"
