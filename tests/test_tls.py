"""TLS from outside: real HTTPS clients (``ssl``, ``http.client``) against every worker.

The certificates are made for the test with the ``openssl`` command (Debian
package ``openssl``): a self-signed server certificate that the clients trust,
and two self-signed client certificates, one of which the server trusts.
"""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess

import pytest

from tests.server import Server

WORKERS = ["sync", "gthread", "gevent"]


def make_certificate(directory, name: str, common_name: str) -> tuple[str, str]:
    """A self-signed certificate and its key, valid for localhost and 127.0.0.1."""
    cert, key = str(directory / f"{name}.crt"), str(directory / f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", f"/CN={common_name}",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("the openssl command is missing (Debian package openssl)")
        pytest.skip("needs the openssl command: apt-get install openssl")
    directory = tmp_path_factory.mktemp("certs")
    return {name: make_certificate(directory, name, name)
            for name in ("server", "client", "stranger")}


def needs(worker: str) -> None:
    if worker == "gevent":
        pytest.importorskip("gevent", reason="pip install 'unicorn-wsgi[gevent]'")


def start_tls(start_server, certs, worker: str, *args: str) -> Server:
    needs(worker)
    cert, key = certs["server"]
    return start_server("-k", worker, "--certfile", cert, "--keyfile", key, *args).ready()


def client_context(certs, identity: str | None = None) -> ssl.SSLContext:
    """A client that trusts our server's certificate, and shows ``identity``'s, if named."""
    context = ssl.create_default_context(cafile=certs["server"][0])
    if identity:
        context.load_cert_chain(*certs[identity])
    return context


def get(port: int, context: ssl.SSLContext, path: str = "/") -> tuple[int, dict]:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("POST", path, body=b"sealed")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("worker", WORKERS)
def test_https_request_is_served_with_the_https_scheme(start_server, certs, worker):
    server = start_tls(start_server, certs, worker)
    status, environ = get(server.port, client_context(certs))
    assert status == 200
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["body"] == "sealed"
    assert f"Listening at: https://127.0.0.1:{server.port}" in server.output  # what to type


def test_tls_is_version_1_2_or_later(start_server, certs):
    server = start_tls(start_server, certs, "sync")
    context = client_context(certs)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.version() in ("TLSv1.2", "TLSv1.3")
    old = client_context(certs)
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_2
    assert get(server.port, old)[0] == 200


def test_gthread_keeps_a_tls_connection_alive(start_server, certs):
    server = start_tls(start_server, certs, "gthread", "--threads", "2")
    connection = http.client.HTTPSConnection("127.0.0.1", server.port,
                                             context=client_context(certs), timeout=10)
    ports = set()
    for _ in range(3):
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200
        ports.add(json.loads(response.read())["REMOTE_PORT"])
    connection.close()
    assert len(ports) == 1, "every request came on the same connection"


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_client_certificate_required(start_server, certs, worker):
    server = start_tls(start_server, certs, worker, "--cert-reqs", "2",
                       "--ca-certs", certs["client"][0])
    assert get(server.port, client_context(certs, "client"))[0] == 200
    for refused in (client_context(certs), client_context(certs, "stranger")):
        # With TLS 1.3 the client learns of the refusal at its first read, not in connect().
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            get(server.port, refused)
    assert get(server.port, client_context(certs, "client"))[0] == 200


@pytest.mark.parametrize("worker", WORKERS)
def test_plain_http_on_the_tls_port_is_closed_and_the_worker_lives(start_server, certs, worker):
    server = start_tls(start_server, certs, worker)
    pids = server.worker_pids()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/"), answer
    assert get(server.port, client_context(certs))[0] == 200
    assert server.worker_pids() == pids
    assert "Traceback" not in server.output


def test_handshake_on_connect(start_server, certs):
    server = start_tls(start_server, certs, "sync", "--do-handshake-on-connect")
    assert get(server.port, client_context(certs))[0] == 200


def test_a_missing_certificate_stops_the_server_before_it_forks(start_server, tmp_path):
    server = start_server("--certfile", str(tmp_path / "missing.crt"))
    assert server.wait() == 1
    assert server.output == f"Error: Invalid value for certfile: there is no file '{tmp_path}/missing.crt'"


def test_a_key_that_does_not_load_stops_the_server_before_it_forks(start_server, certs, tmp_path):
    not_a_key = tmp_path / "server.key"
    not_a_key.write_text("not a key\n")
    server = start_server("--certfile", certs["server"][0], "--keyfile", str(not_a_key))
    assert server.wait() == 1
    lines = server.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Cannot set up TLS with certfile="), lines
