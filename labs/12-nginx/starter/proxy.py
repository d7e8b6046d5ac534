"""Lab 12: behind nginx. Which proxies to trust, and who the client really is.

Write the bodies of trusted_proxies() and real_client_address(), and the server block of
nginx.conf.template beside this file. nginx_template() and app() are already written.
Read labs/12-nginx/README.md first. Run: python -m unicorn.labs check 12 --part b
"""

import json
from pathlib import Path

HERE = Path(__file__).parent


def nginx_template() -> str:
    """The nginx.conf with @PLACEHOLDERS@ that the tests fill in (yours, beside this file)."""
    return (HERE / "nginx.conf.template").read_text()


def trusted_proxies() -> list[str]:
    """The addresses (or networks, such as "10.0.0.0/8") of the proxies allowed to say who the
    client is and how it connected. The tests also give them to unicorn as
    --forwarded-allow-ips, so "*" would mean everyone."""
    raise NotImplementedError("Lab 12b: list the proxies you trust (nginx, here)")


def real_client_address(environ: dict, trusted: list[str]) -> str:
    """The address of the client, for a deployment with exactly one proxy in front.

    REMOTE_ADDR is whoever connected to the server. When that peer is in `trusted`, it is our
    proxy, and the last X-Forwarded-For entry is the address the proxy saw; anything left of it
    is what the client claimed. When the peer is not trusted, its headers prove nothing.
    """
    raise NotImplementedError("Lab 12b: REMOTE_ADDR, or the right X-Forwarded-For entry")


def app(environ, start_response):
    """Echo: the environ's text values as JSON, with the real client and the body's length.

    Served by `python -m unicorn` in the tests. It answers even before part b is written,
    so that parts a and c can be done first.
    """
    body = environ["wsgi.input"].read()
    answer = {key: value for key, value in environ.items() if isinstance(value, str)}
    try:
        answer["lab.client"] = real_client_address(environ, trusted_proxies())
    except NotImplementedError as error:
        answer["lab.client"] = f"NotImplementedError: {error}"
    answer["lab.body_length"] = len(body)
    data = json.dumps(answer).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
