"""Broken: the client is the leftmost X-Forwarded-For entry.

The leftmost entry is "the original client" in every explanation of the header, so it is the
one people take. But nginx's $proxy_add_x_forwarded_for appends to whatever the client sent:
with one proxy, only the rightmost entry was written by someone we trust, and the leftmost is
whatever the client chose to write there.
"""

from unicorn.labs.reference.lab12.proxy import (
    _is_trusted,
    echo_app,
    nginx_template,
    trusted_proxies,
)

REPLACES = "proxy"
CAUGHT_BY = ("test_12b_real_client_address", "test_12b_through_nginx_the_client_is_who_nginx_saw")
__all__ = ["app", "nginx_template", "real_client_address", "trusted_proxies"]


def real_client_address(environ: dict, trusted: list[str]) -> str:
    peer = environ.get("REMOTE_ADDR", "")
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
    if not forwarded or not _is_trusted(peer, trusted):
        return peer
    return forwarded  # the mistake: the client wrote this one


app = echo_app(lambda environ: real_client_address(environ, trusted_proxies()))
