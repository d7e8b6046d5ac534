"""The five deployment notes this course grew from, replayed with unicorn for gunicorn.

Each note's recipe runs here step by step, with `unicorn` wherever the note says
`gunicorn`, against the notes' own apps: the Flask tutorial app
(examples/tutorial/app.py) and a small Django project (tests/apps/django_project,
skipped without Django; CI installs it). Ports are free ones instead of 8000 and
5000, and paths such as /opt/$DJANGO_PROJECT live in the test's directory. Steps that
need a running systemd as PID 1, root, or the network (systemctl, su, pip install,
apt-get) are not replayed; each test says which. The notes are:

- the Django-and-systemd note: --bind 0.0.0.0:8000, then a unit with a unix socket,
  whose ExecStart has a stray slash after the executable;
- the Django-in-/opt note: PYTHONPATH and DJANGO_SETTINGS_MODULE, gevent, a log file,
  an IPv4 and an IPv6 bind, and a unit with Environment= lines;
- the Flask tutorial note: app.py, --workers, --bind, --chdir;
- the Flask-and-TLS note: the same, a unix socket, and --certifile (sic);
- the digest of gunicorn's documentation: -c in three forms, -b, -w, -k, -n, Django
  with --env, --check-config, -h, a config file, the *_CMD_ARGS variable, statsd,
  --forwarded-allow-ips, and the signals.
"""

import importlib.util
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy_tools import free_port, get, read_unit, require, unit_environment, verify
from tests.server import ROOT, Server, body_of, status_of, wait_until

TUTORIAL = ROOT / "examples" / "tutorial"
DJANGO_PROJECT = ROOT / "tests" / "apps" / "django_project"
FLASK_HELLO = b"Hello from a Flask app, served by unicorn\n"

# The notes run a virtualenv's `gunicorn` script; ours is the `unicorn` script when
# unicorn is installed, or this interpreter's `-m unicorn` in a bare checkout.
UNICORN = [shutil.which("unicorn")] if shutil.which("unicorn") else [sys.executable, "-m", "unicorn"]
# What the virtualenv would provide: this checkout's unicorn on the import path.
HARNESS_ENV = {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

needs_django = pytest.mark.skipif(
    importlib.util.find_spec("django") is None and not os.environ.get("CI"),
    reason="Django is not installed (pip install -e '.[test]' brings it)")


def unicorn(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """A unicorn command that exits by itself (--check-config, --print-config, -h, a refusal)."""
    environ = {**os.environ, **HARNESS_ENV}
    environ.pop("UNICORN_CMD_ARGS", None)
    environ.update(env or {})
    return subprocess.run([*UNICORN, *args], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=60)


def serve(start_server, *args: str, cwd: Path, env: dict | None = None) -> Server:
    """A unicorn that runs until the test ends; the note's own flags, no bind of ours."""
    return start_server(*args, app=None, bind=None, cwd=cwd, env=env)


def setting(result: subprocess.CompletedProcess, name: str) -> str:
    """One `name = value` line of --print-config."""
    assert result.returncode == 0, result.stderr
    return next(line.partition(" = ")[2] for line in result.stdout.splitlines()
                if line.startswith(f"{name} = "))


def json_of(response: bytes):
    """The JSON body of a response, chunked (as Django's streams it) or not."""
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        pieces = []
        while (size := int(body.split(b"\r\n", 1)[0], 16)) > 0:
            body = body.split(b"\r\n", 1)[1]
            pieces.append(body[:size])
            body = body[size + 2:]
        body = b"".join(pieces)
    return json.loads(body)


def wait_for_file_line(path: Path, text: str, timeout: float = 20) -> None:
    wait_until(lambda: path.exists() and text in path.read_text(), timeout,
               f"{text!r} never appeared in {path}")


# --- The Flask tutorial note ---------------------------------------------------------------


def test_flask_tutorial_note_commands(start_server, tmp_path):
    # "Usage": `gunicorn app:app` serves app.py's `app` on the default address.
    assert setting(unicorn("--print-config", "app:app", cwd=TUTORIAL), "bind").count(
        "127.0.0.1:8000") == 1
    # "Workers": `gunicorn --workers 4 app:app`.
    assert setting(unicorn("--workers", "4", "--print-config", "app:app", cwd=TUTORIAL),
                   "workers") == "4"
    # "Run the Application": `gunicorn --workers=4 --bind=0.0.0.0:5000 app:app`, on a free port,
    # and "Working Directory": --chdir=... from somewhere else (tmp_path).
    port = free_port()
    server = serve(start_server, "--workers=4", f"--bind=0.0.0.0:{port}", f"--chdir={TUTORIAL}",
                   "app:app", cwd=tmp_path)
    # The output the note shows: the version, the address, the worker class, four boots.
    server.wait_for_line(r"\[INFO\] Starting unicorn \d")
    server.wait_for_line(rf"\[INFO\] Listening at: http://0\.0\.0\.0:{port} \({server.pid}\)")
    server.wait_for_line(r"\[INFO\] Using worker: sync")
    server.wait_for_line(r"\[INFO\] Booting worker with pid: \d+", count=4)
    wait_until(lambda: len(server.worker_pids()) == 4, 15, "four workers")
    assert body_of(get(port, "/", host="localhost")) == FLASK_HELLO


# --- The Flask-and-TLS note ----------------------------------------------------------------


def test_flask_tls_note_binds_a_unix_socket(start_server, tmp_path):
    # "Specify Server Socket to Bind to": the unix socket the note mentions beside HOST:PORT.
    sock = tmp_path / "app.sock"
    serve(start_server, f"--bind=unix:{sock}", "app:app", cwd=TUTORIAL)
    wait_until(sock.exists, 15, "no socket file")
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        wait_until(lambda: client.connect_ex(str(sock)) == 0, 15, "never accepted")
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert body_of(client.makefile("rb").read()) == FLASK_HELLO


def test_flask_tls_note_certifile_is_refused_and_certfile_serves_https(start_server, tmp_path):
    openssl = require("openssl", "openssl")
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", home / "server.key", "-out", home / "server.crt"],
                   check=True, capture_output=True)
    shell_env = {"HOME": str(home)}  # the note's ~ is this directory
    command = shlex.join(UNICORN)

    # "TLS", as the note writes it: `--certifile=~/server.crt --keyfile=~/server.key`.
    typo = unicorn_in_shell(f"{command} --certifile=~/server.crt --keyfile=~/server.key app:app",
                            shell_env)
    assert typo.returncode == 1
    assert "Unknown option '--certifile'; did you mean '--certfile'?" in typo.stderr

    # The flag spelt right but still glued with '=': the shell leaves that ~ alone.
    glued = unicorn_in_shell(f"{command} --certfile=~/server.crt --keyfile=~/server.key "
                             "--check-config app:app", shell_env)
    assert glued.returncode == 1
    assert "'~/server.crt'" in glued.stderr

    # With a space, the shell expands ~ and unicorn serves HTTPS.
    port = free_port()
    start_server("--certfile", str(home / "server.crt"), "--keyfile", str(home / "server.key"),
                 f"--bind=127.0.0.1:{port}", "app:app", app=None, bind=None, cwd=TUTORIAL)
    expanded = subprocess.run(["bash", "-c", "echo --certfile ~/server.crt"], env=shell_env,
                              capture_output=True, text=True, check=True).stdout.split()
    assert expanded == ["--certfile", str(home / "server.crt")]
    context = ssl.create_default_context(cafile=str(home / "server.crt"))

    def https_get() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                return tls.makefile("rb").read()

    wait_until(lambda: _succeeds(https_get), 15, "HTTPS never answered")
    assert body_of(https_get()) == FLASK_HELLO


def unicorn_in_shell(line: str, env: dict) -> subprocess.CompletedProcess:
    """Run a command line through bash, as the note's reader types it."""
    environ = {**os.environ, **HARNESS_ENV, **env}
    return subprocess.run(["bash", "-c", line], cwd=TUTORIAL, env=environ, capture_output=True,
                          text=True, timeout=60)


def _succeeds(action) -> bool:
    try:
        action()
        return True
    except OSError:
        return False


# --- The Django-and-systemd note -----------------------------------------------------------


@needs_django
def test_django_systemd_note_bind_then_unit_with_the_slash_corrected(start_server, tmp_path):
    # "Installation": `gunicorn --bind 0.0.0.0:8000 <my_project>.wsgi` from the project's root.
    port = free_port()
    serve(start_server, "--bind", f"0.0.0.0:{port}", "mysite.wsgi", cwd=DJANGO_PROJECT)
    wait_until(lambda: _succeeds(lambda: get(port, "/", host="localhost")), 20, "no answer")
    assert json_of(get(port, "/", host="localhost"))["settings"] == "mysite.settings"

    # "Create a System Service": the project in a home directory, and the note's unit.
    project = tmp_path / "home" / "mysite"
    shutil.copytree(DJANGO_PROJECT, project)
    executable, *rest = UNICORN
    note_unit = tmp_path / "as-written" / "unicorn.service"
    note_unit.parent.mkdir()
    note_unit.write_text(DJANGO_UNIT.format(
        user=pwd.getpwuid(os.getuid()).pw_name,
        project=project, exec_start=shlex.join([f"{executable}/", *rest])))
    # As written, the slash after the executable makes it a directory: systemd refuses the unit.
    refused = verify(note_unit)
    assert refused.returncode != 0
    assert f"Executable path specifies a directory: {executable}/" in refused.stderr
    # Corrected: the same unit without that one character.
    fixed_unit = tmp_path / "unicorn.service"
    fixed_unit.write_text(note_unit.read_text().replace(f"{executable}/ ", f"{executable} ", 1))
    assert len(note_unit.read_text()) - len(fixed_unit.read_text()) == 1
    accepted = verify(fixed_unit)
    assert accepted.returncode == 0, accepted.stderr

    # `systemctl start` (no systemd here): run the corrected ExecStart in its WorkingDirectory.
    service = read_unit(fixed_unit)["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[:len(UNICORN)] == UNICORN
    server = start_server(*command[len(UNICORN):], app=None, bind=None,
                          cwd=Path(service["WorkingDirectory"]))
    # "check that the sock file was created in the project's root folder"
    sock = project / "mysite.sock"
    wait_until(sock.exists, 20, f"no socket file:\n{server.output}")
    wait_until(lambda: len(server.worker_pids()) == 3, 20, "three workers")
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(sock))
        client.sendall(b"GET /?from=nginx HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert status_of(client.makefile("rb").read()) == 200
    # "--access-logfile -": '-' is standard output, which systemd sends to the journal.
    server.wait_for_line(r'"GET /\?from=nginx HTTP/1\.1" 200 ')


# The first note's unit, in its shape (its own words are its own), with paths of this test.
DJANGO_UNIT = """\
[Unit]
Description=unicorn serving mysite
After=network.target

[Service]
User={user}
Group=www-data
WorkingDirectory={project}
ExecStart={exec_start} --access-logfile - --workers 3 --bind unix:{project}/mysite.sock mysite.wsgi:application

[Install]
WantedBy=multi-user.target
"""


# --- The Django-in-/opt note ---------------------------------------------------------------


@needs_django
def test_django_opt_note_environment_gevent_two_binds_and_unit(start_server, tmp_path):
    pytest.importorskip("gevent", reason="-k gevent needs gevent (pip install '.[gevent]')")
    # The note's layout: code in /opt/$DJANGO_PROJECT, settings in /etc/opt/$DJANGO_PROJECT.
    opt, etc, log = tmp_path / "opt" / "mysite", tmp_path / "etc" / "opt" / "mysite", \
        tmp_path / "var" / "log" / "mysite"
    shutil.copytree(DJANGO_PROJECT, opt)
    etc.mkdir(parents=True)
    log.mkdir(parents=True)
    shutil.copy(DJANGO_PROJECT / "mysite" / "settings.py", etc / "settings.py")
    environment = {"PYTHONPATH": f"{etc}:{opt}:{ROOT}", "DJANGO_SETTINGS_MODULE": "settings"}

    # "Installing and running Gunicorn": `export PYTHONPATH=... DJANGO_SETTINGS_MODULE=settings`,
    # then `gunicorn $DJANGO_PROJECT.wsgi:application`, which listens on port 8000. Port 8000
    # may be taken on a test machine, so the app is loaded (--check-config) and the
    # default address read (--print-config) instead of serving there.
    assert unicorn("--check-config", "mysite.wsgi:application", cwd=tmp_path,
                   env=environment).returncode == 0
    assert "127.0.0.1:8000" in setting(
        unicorn("--print-config", "mysite.wsgi:application", cwd=tmp_path, env=environment), "bind")

    # "Configuring systemd": the note's unit, with Environment= lines and a command over
    # several lines. It is also the note's gevent command with its parameters.
    port = free_port()
    unit = tmp_path / "mysite.service"
    unit.write_text(OPT_UNIT.format(
        user=pwd.getpwuid(os.getuid()).pw_name, etc=etc, opt=opt, root=ROOT, log=log, port=port,
        unicorn=shlex.join(UNICORN)))
    result = verify(unit)
    assert result.returncode == 0, result.stderr

    # `service $DJANGO_PROJECT start`, done by hand: the unit's environment and command.
    environment = unit_environment(unit)
    assert environment["DJANGO_SETTINGS_MODULE"] == "settings"
    command = shlex.split(read_unit(unit)["Service"]["ExecStart"])
    server = start_server(*command[len(UNICORN):], app=None, bind=None, cwd=Path("/"),
                          env=environment)
    logfile = log / "unicorn.log"
    # --log-file: the messages go to the file, not to the terminal (or the journal).
    wait_for_file_line(logfile, "Using worker: gevent")
    wait_for_file_line(logfile, "Booting worker")
    assert "Listening at" not in server.output
    # --bind twice: the same port on the IPv4 and the IPv6 loopback address.
    for address, host in (("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")):
        wait_until(lambda a=address: _succeeds(lambda: get(port, "/", "localhost", address=a)),
                   20, f"nothing on {address}")
        answer = json_of(get(port, "/", host=f"{host}:{port}", address=address))
        assert answer["settings"] == "settings"  # from /etc/opt, through PYTHONPATH
        assert answer["host"] == f"{host}:{port}"
    log_text = logfile.read_text()
    assert f"Listening at: http://127.0.0.1:{port}" in log_text
    assert f"Listening at: http://[::1]:{port}" in log_text
    assert len(server.worker_pids()) == 1  # --workers=1: one process, many green threads


OPT_UNIT = """\
[Unit]
Description=mysite, a Django project served by unicorn

[Service]
User={user}
Group={user}
Environment="PYTHONPATH={etc}:{opt}:{root}"
Environment="DJANGO_SETTINGS_MODULE=settings"
ExecStart={unicorn} \\
    --worker-class=gevent --workers=1 \\
    --log-file={log}/unicorn.log \\
    --bind=127.0.0.1:{port} --bind=[::1]:{port} \\
    mysite.wsgi:application

[Install]
WantedBy=multi-user.target
"""


# --- The digest of gunicorn's documentation ------------------------------------------------


CONFIG_FILE = """\
import multiprocessing

bind = "127.0.0.1:{port}"
workers = multiprocessing.cpu_count() * 2 + 1
"""


def test_docs_note_help_config_file_and_check_config(tmp_path):
    # "Command Line": `gunicorn -h` lists the settings the command line takes.
    result = unicorn("-h", cwd=TUTORIAL)
    assert result.returncode == 0 and result.stdout.startswith("usage: unicorn")
    # "Configuration File": a Python file that assigns settings, and imports what it needs.
    port = free_port()
    (tmp_path / "unicorn.conf.py").write_text(CONFIG_FILE.format(port=port))
    config = unicorn("-c", str(tmp_path / "unicorn.conf.py"), "--print-config", "app:app",
                     cwd=TUTORIAL)
    assert setting(config, "workers") == str(os.cpu_count() * 2 + 1)
    assert f"127.0.0.1:{port}" in setting(config, "bind")
    # "Commonly Used Arguments": -c takes the same file as file:PATH, or a module as python:MODULE.
    by_path = unicorn("-c", f"file:{tmp_path / 'unicorn.conf.py'}", "--print-config", "app:app",
                      cwd=TUTORIAL)
    assert f"127.0.0.1:{port}" in setting(by_path, "bind")
    (tmp_path / "site_settings.py").write_text(CONFIG_FILE.format(port=port + 1))
    by_module = unicorn("-c", "python:site_settings", "--print-config", "app:app", cwd=TUTORIAL,
                        env={"PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert f"127.0.0.1:{port + 1}" in setting(by_module, "bind")
    # "Configuration Overview": `gunicorn --check-config APP_MODULE` loads the app, then exits.
    assert unicorn("--check-config", "app:app", cwd=TUTORIAL).returncode == 0
    assert unicorn("--check-config", "app:nothing_here", cwd=TUTORIAL).returncode != 0


def test_docs_note_cmd_args_variable(start_server):
    # "Settings": GUNICORN_CMD_ARGS="--bind=127.0.0.1 --workers=3" gunicorn app:app, with
    # unicorn's UNICORN_CMD_ARGS and a free port.
    port = free_port()
    server = serve(start_server, "app:app", cwd=TUTORIAL,
                   env={"UNICORN_CMD_ARGS": f"--bind=127.0.0.1:{port} --workers=3"})
    server.wait_for_line(r"Booting worker", count=3)
    wait_until(lambda: _succeeds(lambda: get(port, "/", "localhost")), 15, "no answer")
    assert body_of(get(port, "/", host="localhost")) == FLASK_HELLO


def test_docs_note_bind_forms_workers_worker_class_and_name(start_server, tmp_path):
    # "Commonly Used Arguments": -b HOST:PORT and -b unix:PATH at once, -w, -k, -n.
    port, sock = free_port(), tmp_path / "app.sock"
    server = serve(start_server, "-b", f"127.0.0.1:{port}", "-b", f"unix:{sock}", "-w", "2",
                   "-k", "gthread", "-n", "notes-app", "app:app", cwd=TUTORIAL)
    server.wait_for_line(r"Using worker: gthread")
    server.wait_for_line(r"Booting worker", count=2)
    wait_until(lambda: _succeeds(lambda: get(port, "/", "localhost")), 15, "no TCP answer")
    assert body_of(get(port, "/", host="localhost")) == FLASK_HELLO
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(sock))
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert body_of(client.makefile("rb").read()) == FLASK_HELLO
    # -n: the name goes into the process title "if setproctitle is installed", as the note
    # says. Without it only the 15-character comm name can change, which "unicorn: master"
    # already fills, so the name is then found in the settings only.
    if importlib.util.find_spec("setproctitle"):
        assert b"notes-app" in Path(f"/proc/{server.pid}/cmdline").read_bytes()
    else:
        assert Path(f"/proc/{server.pid}/comm").read_text() == "unicorn: master\n"
        assert setting(unicorn("-n", "notes-app", "--print-config", "app:app", cwd=TUTORIAL),
                       "proc_name") == "'notes-app'"


@needs_django
def test_docs_note_django_with_env(start_server, tmp_path):
    # "Integration": `gunicorn --env DJANGO_SETTINGS_MODULE=myproject.settings myproject.wsgi`,
    # here naming a second settings module, so that --env visibly wins over wsgi.py's default.
    project = tmp_path / "mysite-project"
    shutil.copytree(DJANGO_PROJECT, project)
    (project / "mysite" / "production.py").write_text("from mysite.settings import *  # noqa\n")
    port = free_port()
    serve(start_server, "--bind", f"127.0.0.1:{port}", "--env",
          "DJANGO_SETTINGS_MODULE=mysite.production", "mysite.wsgi", cwd=project)
    wait_until(lambda: _succeeds(lambda: get(port, "/", "localhost")), 20, "no answer")
    assert json_of(get(port, "/", host="localhost"))["settings"] == "mysite.production"


def test_docs_note_forwarded_allow_ips_and_signals(start_server):
    # "Nginx Configuration": `gunicorn -w 3 --forwarded-allow-ips="10.170.3.217,10.170.3.220"
    # test:app`: only those two proxies may say https; this client, on 127.0.0.1, may not.
    port = free_port()
    server = serve(start_server, "-w", "3", "--forwarded-allow-ips=10.170.3.217,10.170.3.220",
                   "-b", f"127.0.0.1:{port}", "server_apps:echo", cwd=ROOT / "tests" / "apps")
    server.wait_for_line(r"Booting worker", count=3)
    wait_until(lambda: len(server.worker_pids()) == 3, 15, "three workers")
    wait_until(lambda: _succeeds(lambda: get(port, "/", "localhost")), 15, "no answer")
    environ = json.loads(body_of(get(port, "/", "localhost", "X-Forwarded-Proto: https\r\n")))
    assert environ["HTTP_X_FORWARDED_PROTO"] == "https" and environ["wsgi.url_scheme"] == "http"

    # "Signal Handling", master process: TTIN and TTOU add and remove a worker, USR1
    # reopens the logs, HUP replaces the workers, TERM stops gracefully.
    server.signal(signal.SIGTTIN)
    wait_until(lambda: len(server.worker_pids()) == 4, 15, "TTIN: a fourth worker")
    server.signal(signal.SIGTTOU)
    wait_until(lambda: len(server.worker_pids()) == 3, 15, "TTOU: back to three")
    server.signal(signal.SIGUSR1)
    server.wait_for_line(r"Handling signal: usr1")
    before = set(server.worker_pids())
    server.signal(signal.SIGHUP)
    wait_until(lambda: len(server.worker_pids()) == 3 and not before & set(server.worker_pids()),
               20, "HUP: three new workers")
    server.signal(signal.SIGTERM)
    assert server.wait(20) == 0


def test_docs_note_statsd(start_server):
    # "Instrumentation": `gunicorn --statsd-host=localhost:8125 --statsd-prefix=service.app`,
    # with a UDP socket of the test's own standing in for the statsd server.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as statsd:
        statsd.bind(("127.0.0.1", 0))
        statsd.settimeout(10)
        port = free_port()
        serve(start_server, f"--statsd-host=localhost:{statsd.getsockname()[1]}",
              "--statsd-prefix=service.app", f"--bind=127.0.0.1:{port}", "app:app", cwd=TUTORIAL)
        wait_until(lambda: _succeeds(lambda: get(port, "/", "localhost")), 15, "no answer")
        lines = []
        while not any(b"request" in line for line in lines):  # bounded by the socket timeout
            lines += statsd.recv(65536).splitlines()
        assert all(line.startswith(b"service.app.") for line in lines), lines
        assert all(line.rpartition(b"|")[2] in (b"c", b"ms", b"g") for line in lines), lines
