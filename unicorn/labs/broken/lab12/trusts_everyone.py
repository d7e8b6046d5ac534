"""Broken: every peer is a trusted proxy (`--forwarded-allow-ips '*'`).

It makes a deployment "just work" when the proxy's address is not known in advance. But then
any client that reaches the server directly, around nginx, chooses its own X-Forwarded-For
and X-Forwarded-Proto: it can claim any address (and slip past a rate limit or an allow list
keyed on it), and claim https on a plain connection.
"""

from unicorn.labs.reference.lab12.proxy import echo_app, nginx_template, real_client_address

REPLACES = "proxy"
CAUGHT_BY = ("test_12b_a_direct_client_cannot_spoof_x_forwarded_for",
             "test_12b_x_forwarded_proto_only_from_trusted_proxies")
__all__ = ["app", "nginx_template", "real_client_address", "trusted_proxies"]


def trusted_proxies() -> list[str]:
    return ["*"]  # the mistake: a header is only as true as whoever sent it


app = echo_app(lambda environ: real_client_address(environ, trusted_proxies()))
