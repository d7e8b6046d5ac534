"""Broken: `proxy_request_buffering off`, so nginx hands a request to unicorn as it arrives.

That is what streaming uploads need, and it is why people turn it off. But a sync worker then
reads the body at the client's pace: one client uploading slowly holds the only worker, and
every other request waits behind it, exactly as if nginx were not there.
"""

from unicorn.labs.reference.lab12.proxy import app, real_client_address, trusted_proxies
from unicorn.labs.reference.lab12.proxy import nginx_template as buffering_template

REPLACES = "proxy"
CAUGHT_BY = ("test_12c_slow_upload_does_not_hold_the_worker",)
__all__ = ["app", "nginx_template", "real_client_address", "trusted_proxies"]


def nginx_template() -> str:
    text = buffering_template()
    assert "proxy_request_buffering on;" in text, "the reference config changed"
    return text.replace("proxy_request_buffering on;", "proxy_request_buffering off;")
