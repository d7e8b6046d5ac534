"""The environ: a parsed request becomes the dictionary a WSGI application is called with.

``build_environ`` fills in every key PEP 3333 asks for, from the request head,
the connection's addresses and the settings; the body is a ``Body`` object,
read only when the app asks. ``forwarded_scheme`` decides "http" or "https"
from the scheme headers of a proxy that is trusted to say so.

Explained in the chapter "The WSGI gateway".
gunicorn: gunicorn/http/wsgi.py (its environ half).
Left out: the PROXY protocol.
"""

import io
import ipaddress
import sys
from urllib.parse import unquote_to_bytes

from unicorn import SERVER_SOFTWARE
from unicorn.http import errors
from unicorn.http.body import Body, SpooledBody
from unicorn.http.parser import Request
from unicorn.http.response import FileWrapper


def build_environ(
    request: Request,
    body: Body | SpooledBody,
    server: tuple[str, int] | str,
    client: tuple[str, int] | str,
    errors: io.TextIOBase = sys.stderr,
    multithread: bool = False,
    url_scheme: str = "http",
    script_name: str = "",
) -> dict:
    """The environ dictionary of PEP 3333 for one request.

    ``server`` and ``client`` are socket addresses, or a path string for a
    unix socket, where there is no port to report.
    """
    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "QUERY_STRING": request.query,
        "RAW_URI": request.target,
        "SERVER_PROTOCOL": request.version,
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.input": body,
        "wsgi.errors": errors,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }
    add_headers(environ, request.headers)
    add_body_length(environ, request, body)
    if request.host is not None:
        environ["HTTP_HOST"] = request.host  # an absolute-form target wins (RFC 9112 §3.2.2)
    add_addresses(environ, server, client, request.host, url_scheme)
    add_path(environ, request.path, script_name.rstrip("/"))
    return environ


def add_headers(environ: dict, headers: list[tuple[str, str]]) -> None:
    """HTTP_* keys; Content-Type and Content-Length go in without the prefix.

    Repeated fields are joined with "," (RFC 9110 §5.3), which is only safe
    because the parser dropped names containing "_".
    """
    for name, value in headers:
        if name == "CONTENT-TYPE":
            key = "CONTENT_TYPE"
        elif name == "CONTENT-LENGTH":
            key = "CONTENT_LENGTH"
        else:
            key = "HTTP_" + name.replace("-", "_")
        if key in environ:
            environ[key] += "," + value
        else:
            environ[key] = value


def add_body_length(environ: dict, request: Request, body: Body | SpooledBody) -> None:
    """CONTENT_LENGTH as the app will find the body in ``wsgi.input``.

    "5, 5" from repeated fields is the one number 5. A chunked body was read
    whole and de-chunked before the app runs (SpooledBody), so it gets the
    length it turned out to have, and HTTP_TRANSFER_ENCODING goes: it no
    longer describes what ``wsgi.input`` gives, and a framework that believed
    it would try to de-chunk the body again.
    """
    if isinstance(body, SpooledBody):
        environ["CONTENT_LENGTH"] = str(body.length)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
    elif "CONTENT_LENGTH" in environ:
        environ["CONTENT_LENGTH"] = str(request.content_length)


def add_addresses(environ: dict, server, client, host: str | None, scheme: str) -> None:
    """SERVER_NAME/PORT from the listening socket, REMOTE_ADDR/PORT from the peer.

    A unix socket has no name or port to give, so then the Host header,
    which PEP 3333 suggests for URL reconstruction anyway, is used instead.
    """
    if isinstance(server, str):
        name, port = split_host(host or "")
        environ["SERVER_NAME"] = name or "localhost"
        environ["SERVER_PORT"] = port or ("443" if scheme == "https" else "80")
    else:
        environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1])
    if isinstance(client, str) or not client:
        environ["REMOTE_ADDR"] = client or "127.0.0.1"
    else:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])


def split_host(host: str) -> tuple[str, str]:
    """"example.com:8080" -> ("example.com", "8080"); "[::1]" -> ("[::1]", "")."""
    if host.endswith("]") or ":" not in host:
        return host, ""
    name, _, port = host.rpartition(":")
    return name, port


def add_path(environ: dict, path: str, script_name: str) -> None:
    """PATH_INFO is the decoded path as latin-1 (PEP 3333, "Unicode Issues").

    ``script_name`` is where the app is mounted below the root of the site
    (``--env SCRIPT_NAME=/app``); it is taken off the front of the path.
    """
    path_info = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
    if script_name and (path_info + "/").startswith(script_name + "/"):
        environ["SCRIPT_NAME"] = script_name
        path_info = path_info[len(script_name):]
    environ["PATH_INFO"] = path_info


def forwarded_scheme(request: Request, client, forwarded_allow_ips: list[str],
                     secure_scheme_headers: dict[str, str]) -> str:
    """"https" when a proxy we trust says the client used it, else "http".

    Only a proxy can know how the client connected, and only a proxy we
    trust may tell us: anyone else could claim https. Each header named in
    ``secure_scheme_headers`` (upper-case names) is a vote: https when its
    value is exactly the one listed there, http for any other, as in
    gunicorn. Votes that disagree (``X-Forwarded-Proto: https`` with
    ``X-Forwarded-Ssl: off``, or two different ``X-Forwarded-Proto``) are
    refused with 400 rather than guessed.
    """
    votes = {value == secure_scheme_headers[name]
             for name, value in request.headers if name in secure_scheme_headers}
    if not votes or not is_trusted(client, forwarded_allow_ips):
        return "http"
    if len(votes) > 1:
        raise errors.InvalidSchemeHeaders("the scheme headers contradict each other")
    return "https" if votes == {True} else "http"


def is_trusted(client, allowed: list[str]) -> bool:
    """Is the peer a unix socket, or an address (or network) in ``allowed``?"""
    if isinstance(client, str) or "*" in allowed:
        return True
    address = ipaddress.ip_address(client[0])
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allowed)
