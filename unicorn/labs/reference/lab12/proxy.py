"""Lab 12's reference: the nginx config beside this file, and trusted-proxy rules over unicorn's.

unicorn decides whom to believe about the scheme with `is_trusted` in unicorn/http/environ.py and
the `forwarded_allow_ips` setting; this adapter uses the same two for X-Forwarded-For, which
unicorn itself leaves to the app. The app is served by a real `python -m unicorn` in the tests.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent


def unicorn_environ():
    """unicorn's environ module, where trust is decided. If a rename breaks lab 12, fix this."""
    from unicorn.http import environ

    return environ


def unicorn_settings():
    from unicorn import settings

    return settings


def nginx_template() -> str:
    """The nginx.conf with @PLACEHOLDERS@ that the tests fill in."""
    return (HERE / "nginx.conf.template").read_text()


def trusted_proxies() -> list[str]:
    """unicorn's own default for --forwarded-allow-ips: the loopback addresses."""
    settings = unicorn_settings()
    return settings.address_list(settings.SETTINGS_BY_NAME["forwarded_allow_ips"].default)


def real_client_address(environ: dict, trusted: list[str]) -> str:
    """The rightmost X-Forwarded-For entry when the peer is a trusted proxy, else the peer."""
    peer = environ.get("REMOTE_ADDR", "")
    forwarded = [entry.strip() for entry in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if not forwarded or not _is_trusted(peer, trusted):
        return peer
    return forwarded[-1]


def _is_trusted(peer: str, trusted: list[str]) -> bool:
    try:
        return unicorn_environ().is_trusted((peer, 0), trusted)
    except ValueError:  # not an IP address at all: nobody we listed
        return False


def echo_app(client_of):
    """An echo app: the environ's text values as JSON, with `client_of(environ)` as lab.client
    and the body's length. A function of `client_of` so that broken variants echo their own."""

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        answer = {key: value for key, value in environ.items() if isinstance(value, str)}
        answer["lab.client"] = client_of(environ)
        answer["lab.body_length"] = len(body)
        data = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    return app


app = echo_app(lambda environ: real_client_address(environ, trusted_proxies()))
