"""Helpers for the tests that run the deployment files and the notes' recipes.

The files in examples/deploy/ are written for a real machine (/srv/hello, port 80,
user www-data). A test runs them here by replacing those few strings with paths and
ports of its own; `adapt` insists that every string it replaces is really there, so a
file edited later cannot silently stop being tested.
"""

import os
import pwd
import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.server import status_of, wait_until

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "examples" / "deploy"

# nginx writes these temporary files under /var/lib/nginx by default; a test's nginx
# keeps them in its own directory.
TEMP_PATHS = "".join(f"    {kind}_temp_path {{tmp}}/{kind};\n"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def require(tool: str, package: str) -> str:
    """The tool's path; skipped without it on a developer's machine, failed in CI."""
    path = shutil.which(tool) or next(
        (f"{d}/{tool}" for d in ("/usr/sbin", "/sbin") if os.access(f"{d}/{tool}", os.X_OK)), None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing in CI (Debian package {package})")
        pytest.skip(f"{tool} is not installed (apt-get install {package})")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def adapt(text: str, replacements: dict[str, str]) -> str:
    """Replace each key by its value everywhere, after checking that the key is there."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the file"
        text = text.replace(old, new)
    return text


def nginx_replacements(tmp: Path, port: int) -> dict[str, str]:
    """What makes a deployment nginx.conf run unprivileged, on `port`, inside `tmp`."""
    return {
        "user www-data;": f"user {pwd.getpwuid(os.getuid()).pw_name};",
        "pid /run/nginx.pid;": f"pid {tmp}/nginx.pid;",
        "/var/log/nginx/": f"{tmp}/",
        "listen 80": f"listen 127.0.0.1:{port}",
        "http {\n": "http {\n" + TEMP_PATHS.format(tmp=tmp),
    }


def start_nginx(conf: Path, tmp: Path, port: int, host: str = "example.com") -> subprocess.Popen:
    """nginx in the foreground, in its own session; returns once it answers on `port`."""
    nginx = subprocess.Popen(
        [require("nginx", "nginx"), "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def answers() -> bool:
        assert nginx.poll() is None, f"nginx exited: {nginx.stderr.read()}"
        try:
            return status_of(get(port, "/", host)) > 0
        except (OSError, IndexError, ValueError):
            return False

    try:
        wait_until(answers, 15, "nginx never answered")
    except BaseException:
        stop_nginx(nginx)
        raise
    return nginx


def stop_nginx(nginx: subprocess.Popen) -> None:
    nginx.terminate()
    try:
        nginx.wait(10)
    except subprocess.TimeoutExpired:
        nginx.kill()
        nginx.wait(5)


def get(port: int, path: str, host: str = "example.com", headers: str = "",
        address: str = "127.0.0.1") -> bytes:
    """One GET over a new connection (IPv4 or IPv6); everything the server sent back."""
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
    with socket.create_connection((address, port), timeout=10) as sock:
        sock.sendall(raw.encode())
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def read_unit(path: Path) -> dict[str, dict[str, str]]:
    """A unit file as {section: {setting: value}}; a repeated setting keeps its last value.

    systemd joins a line ending in a backslash to the next, and reads '#' and ';' as
    comments only at the start of a line; so does this.
    """
    return {section: {key: values[-1] for key, values in settings.items()}
            for section, settings in _unit_settings(path).items()}


def unit_environment(path: Path) -> dict[str, str]:
    """Every Environment="NAME=value" line of the [Service] section, as a dict."""
    pairs = (word.partition("=") for value in _unit_settings(path)["Service"].get("Environment", [])
             for word in shlex.split(value))
    return {name: value for name, _, value in pairs}


def _unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(" ".join(value.split()))
    return sections


def verify(*units: Path) -> subprocess.CompletedProcess:
    """systemd-analyze verify: what systemd would refuse, without starting anything."""
    return subprocess.run([require("systemd-analyze", "systemd"), "verify", *map(str, units)],
                          capture_output=True, text=True, timeout=60)
