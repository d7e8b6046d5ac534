"""unicorn behind a real nginx, over a unix socket, as the deployment notes set it up.

These need the nginx binary (Debian package `nginx`). They are skipped only
when nginx is missing on a developer's machine; in CI (`CI` set) a missing
nginx is a failure, because .ci/run installs it.
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time

import pytest

from tests.server import body_of, exchange, status_of, wait_until

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

if NGINX is None and not os.environ.get("CI"):
    pytest.skip("nginx is not installed (apt-get install nginx)", allow_module_level=True)

# `user`: started as root, nginx's workers would otherwise run as nobody and
# be refused the socket inside pytest's private temp directory (the same
# "Permission denied" a deployment gets when nginx's user cannot reach it).
CONFIG = """
user {user};
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream app_server {{
        server unix:{socket} fail_timeout=0;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_body_timeout 10s;
        client_header_timeout 10s;
        location / {{
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_redirect off;
            proxy_pass http://app_server;
        }}
        location /as-https/ {{
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_pass http://app_server;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def behind_nginx(start_server, tmp_path):
    """A one-worker sync unicorn on a unix socket, and nginx in front of it."""
    sock = tmp_path / "unicorn.sock"
    server = start_server("-w", "1", bind=f"unix:{sock}", app="server_apps:echo")
    wait_until(lambda: sock.exists() and server.worker_pids(), 15, "unicorn did not start")
    port = free_port()
    (tmp_path / "nginx.conf").write_text(CONFIG.format(
        tmp=tmp_path, socket=sock, port=port, user=pwd.getpwuid(os.getuid()).pw_name))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                              "-g", "daemon off;"], stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        wait_until(lambda: _answers(port), 15, "nginx never answered")
        yield port
    finally:
        nginx.terminate()
        nginx.wait(10)


def _answers(port: int) -> bool:
    try:
        return status_of(_get(port, "/")) == 200
    except (OSError, IndexError, ValueError):
        return False


def _get(port: int, path: str, headers: str = "") -> bytes:
    raw = f"GET {path} HTTP/1.1\r\nHost: site.example\r\n{headers}Connection: close\r\n\r\n"
    return exchange(("127.0.0.1", port), raw.encode(), timeout=10)


def test_the_app_sees_what_nginx_forwards(behind_nginx):
    environ = json.loads(body_of(_get(behind_nginx, "/hello?x=1")))
    assert environ["PATH_INFO"] == "/hello"
    assert environ["QUERY_STRING"] == "x=1"
    assert environ["HTTP_HOST"] == "site.example"
    assert environ["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"
    assert environ["SERVER_NAME"] == "site.example"  # a unix socket has no name: Host is used
    assert environ["wsgi.url_scheme"] == "http"


def test_x_forwarded_proto_from_nginx_on_a_unix_socket_is_trusted(behind_nginx):
    environ = json.loads(body_of(_get(behind_nginx, "/as-https/")))
    assert environ["wsgi.url_scheme"] == "https"


def test_nginx_buffers_a_slow_client_so_one_sync_worker_serves_others(behind_nginx):
    """The reason for the proxy: a client trickling its request pins nginx, not the worker."""
    slow = socket.create_connection(("127.0.0.1", behind_nginx), timeout=10)
    stop = threading.Event()

    def trickle():
        slow.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n"
                     b"Connection: close\r\n\r\n")
        for _ in range(20):
            if stop.wait(0.15):
                return
            slow.sendall(b"a")

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        started = time.monotonic()
        for _ in range(5):
            assert status_of(_get(behind_nginx, "/fast")) == 200
        assert time.monotonic() - started < 2  # the trickling body takes 3 s
        trickler.join(10)
        response = b""
        while chunk := slow.recv(65536):
            response += chunk
        assert json.loads(body_of(response))["body"] == "a" * 20
    finally:
        stop.set()
        slow.close()
