"""A real nginx in front of both servers, with its default upstream settings.

By default nginx speaks HTTP/1.0 to its upstream and sends `Connection:
close`, so every request it forwards opens a new connection to the server:
the case the threaded worker once served at a fifth of its speed. One nginx
listens on one port per upstream; it runs unprivileged from a temporary
directory, as in tests/test_nginx.py.
"""

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from servers import POLL_SECONDS, STARTUP_SECONDS, answers_200, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# `user`: started as root, nginx's workers would otherwise run as nobody.
# `worker_processes auto` is what Debian's own nginx.conf says: one per CPU.
CONFIG = """
user {user};
worker_processes auto;
error_log {directory}/error.log warn;
pid {directory}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
{servers}
}}
"""
# Nothing but proxy_pass: the upstream connection uses nginx's defaults.
SERVER = """    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://127.0.0.1:{upstream}; }}
    }}
"""


def nginx_available() -> bool:
    return os.access(NGINX, os.X_OK)


class Nginx:
    """nginx proxying one of its ports to each upstream port; ``port_for[upstream]``."""

    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.directory = directory
        directory.mkdir()
        self.port_for = {upstream: free_port() for upstream in upstreams}
        servers = "".join(SERVER.format(port=port, upstream=upstream)
                          for upstream, port in self.port_for.items())
        config = directory / "nginx.conf"
        config.write_text(CONFIG.format(user=pwd.getpwuid(os.getuid()).pw_name,
                                        directory=directory, servers=servers))
        self.process = subprocess.Popen(
            [NGINX, "-p", str(directory), "-c", str(config), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_until_serving()

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not all(answers_200(port) for port in self.port_for.values()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = self.directory / "error.log"
                raise RuntimeError("nginx did not start: "
                                   + (log.read_text()[-2000:] if log.exists() else ""))
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # nginx's master stops its own workers
        self.process.wait(10)
