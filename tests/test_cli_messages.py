"""What a user sees: config locations, migration warnings, tracebacks, help, left-out features.

Every test runs the real command (`python -m unicorn` in a subprocess) and checks the exact
line printed and the exit status.
"""

import signal
import subprocess
import sys
import textwrap

import pytest

from tests.server import APPS, ROOT, Server, wait_until
from unicorn.migration import LEFT_OUT_OPTIONS
from unicorn.settings import SETTINGS


def run(*args, cwd, **variables) -> subprocess.CompletedProcess:
    environ = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **variables}
    return subprocess.run([sys.executable, "-m", "unicorn", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60)


def error_line(result) -> str:
    """The one line of a configuration error; checks that it is one line and status 1."""
    assert result.returncode == 1, result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr.rstrip("\n")


def printed(result) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    return dict(line.split(" = ", 1) for line in result.stdout.splitlines())


# -- Config locations: PATH, file:PATH, python:MODULE


def test_config_as_file_prefix(tmp_path):
    (tmp_path / "prod.py").write_text("workers = 3\n")
    shown = printed(run("-c", "file:prod.py", "--print-config", cwd=tmp_path))
    assert (shown["workers"], shown["config"]) == ("3", repr(str(tmp_path / "prod.py")))


def test_config_as_a_module_on_the_import_path(tmp_path):
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "__init__.py").write_text("")
    (tmp_path / "settings" / "unicorn_prod.py").write_text("workers = 5\n_cores = 2\n")
    shown = printed(run("-c", "python:settings.unicorn_prod", "--print-config", cwd=tmp_path))
    assert shown["workers"] == "5"
    assert shown["config"] == repr(str(tmp_path / "settings" / "unicorn_prod.py"))


def test_config_module_that_is_not_there(tmp_path):
    assert error_line(run("-c", "python:nowhere.conf", "app:app", cwd=tmp_path)) == (
        "Error: Invalid value for config: there is no module 'nowhere.conf' with a .py file "
        "on the import path")


def test_config_module_mistakes_name_the_location(tmp_path):
    (tmp_path / "conf.py").write_text("wrokers = 4\n")
    assert error_line(run("-c", "python:conf", "app:app", cwd=tmp_path)) == (
        "Error: Unknown setting 'wrokers' in config file python:conf; did you mean 'workers'?")


def test_a_helper_variable_is_told_about_the_underscore(tmp_path):
    (tmp_path / "unicorn.conf.py").write_text(textwrap.dedent("""\
        import multiprocessing
        cores = multiprocessing.cpu_count()
        workers = 2 * cores + 1
    """))
    assert error_line(run("app:app", cwd=tmp_path)) == (
        "Error: Unknown setting 'cores' in config file unicorn.conf.py; a name of your own is "
        "allowed if it starts with an underscore, such as '_cores'")


# -- Migration: gunicorn's names are not silently ignored


def test_gunicorn_conf_py_gets_a_warning(tmp_path):
    (tmp_path / "gunicorn.conf.py").write_text("workers = 4\n")
    result = run("--print-config", cwd=tmp_path)
    assert result.returncode == 0 and printed(result)["workers"] == "1"
    assert result.stderr == ("Warning: ./gunicorn.conf.py is not read: unicorn reads "
                             "./unicorn.conf.py (rename it, or pass -c gunicorn.conf.py)\n")


def test_gunicorn_cmd_args_gets_a_warning(tmp_path):
    result = run("--print-config", cwd=tmp_path, GUNICORN_CMD_ARGS="--workers 3")
    assert result.returncode == 0 and printed(result)["workers"] == "1"
    assert result.stderr == ("Warning: GUNICORN_CMD_ARGS is not read: unicorn reads "
                             "UNICORN_CMD_ARGS\n")


def test_no_warning_once_unicorns_names_are_used(tmp_path):
    (tmp_path / "gunicorn.conf.py").write_text("workers = 4\n")
    (tmp_path / "unicorn.conf.py").write_text("workers = 2\n")
    result = run("--print-config", cwd=tmp_path, GUNICORN_CMD_ARGS="-w 3",
                 UNICORN_CMD_ARGS="-w 3")
    assert (result.returncode, result.stderr) == (0, "")


# -- Tracebacks where they help


def test_an_app_that_fails_to_import_logs_its_traceback_then_exits_4():
    server = Server(app="loading_raises:app")
    assert server.wait() == 4
    lines = server.output.splitlines()
    summary = ("Importing 'loading_raises' for app 'loading_raises:app' raised RuntimeError: "
               "boom while importing")
    at = next(i for i, line in enumerate(lines) if line.endswith(summary))
    assert lines[at - 4].endswith("[ERROR] Traceback (most recent call last):")
    assert lines[at - 3] == f'  File "{APPS / "loading_raises.py"}", line 9, in <module>'
    assert lines[at - 1] == "RuntimeError: boom while importing"
    assert "importlib" not in server.output
    assert lines[-2].endswith("[ERROR] App failed to load: loading_raises:app")


def test_check_config_prints_the_traceback_and_the_summary_last():
    result = run("--check-config", "loading_needs_missing", cwd=APPS)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{APPS / "loading_needs_missing.py"}", line 3, in <module>'
    assert lines[-1] == ("Error: Importing 'loading_needs_missing' for app "
                         "'loading_needs_missing' raised ModuleNotFoundError: No module named "
                         "'unicorn_test_dependency_that_does_not_exist'")


def test_preloading_master_logs_the_traceback_too():
    server = Server("--preload", app="loading_raises:app")
    assert server.wait() == 4
    assert f'File "{APPS / "loading_raises.py"}", line 9' in server.output


def test_a_module_that_is_not_there_needs_no_traceback(tmp_path):
    assert error_line(run("--check-config", "nosuch:app", cwd=tmp_path)) == (
        "Error: No module named 'nosuch' (while importing app 'nosuch:app')")


# -- Help and messages


def test_help_names_the_config_file_repeated_binds_and_the_environment(tmp_path):
    result = run("--help", cwd=tmp_path)
    text = " ".join(result.stdout.split())  # argparse wraps lines
    assert result.returncode == 0
    assert "(./unicorn.conf.py if it exists and none is named)" in text
    assert "repeat -b to listen on several. Default: '127.0.0.1:8000'." in text
    assert ("The PORT and WEB_CONCURRENCY environment variables change the defaults of --bind "
            "(0.0.0.0:$PORT) and --workers.") in text
    assert ("--no-sendfile With --no-sendfile (sendfile = False in a config file), file "
            "responses are copied through unicorn instead of sent by the sendfile() system "
            "call.") in text


def test_print_config_stays_python(tmp_path):
    source = run("--print-config", "-b", "127.0.0.1:1", "-b", "[::1]:1", cwd=tmp_path).stdout
    namespace = {"do_nothing": None}
    exec(source, namespace)
    assert namespace["bind"] == ["127.0.0.1:1", "[::1]:1"]


def test_log_config_says_what_unicorn_supports(tmp_path):
    assert error_line(run("--log-config", "logging.ini", "app:app", cwd=tmp_path)) == (
        "Error: --log-config is gunicorn's option for logging configuration files, which "
        "unicorn leaves out; unicorn supports only logconfig_dict, set in a config file")


@pytest.mark.parametrize("args, line", [
    (["--paste", "production.ini"], "Error: --paste is gunicorn's option for Paste Deploy "
     "files, which unicorn leaves out; serve a module that calls paste.deploy.loadapp(), as "
     "MODULE:VARIABLE"),
    (["--proxy-protocol"], "Error: --proxy-protocol is gunicorn's option for the PROXY "
     "protocol, which unicorn leaves out; let nginx accept it and pass X-Forwarded-For on "
     "(see --forwarded-allow-ips)"),
    (["--http-protocols=h2,h1"], "Error: --http-protocols is gunicorn's option for HTTP/2, "
     "which unicorn leaves out; let nginx speak HTTP/2 to clients and HTTP/1.1 to unicorn"),
    (["-k", "eventlet"], "Error: Invalid value for worker_class: 'eventlet' is the eventlet "
     "worker of older gunicorns, which unicorn leaves out; use -k gevent for green threads, "
     "or -k gthread"),
    (["-k", "tornado"], "Error: Invalid value for worker_class: 'tornado' is gunicorn's "
     "Tornado worker, which unicorn leaves out; use -k gthread, or run Tornado's own server"),
    (["-k", "uvicorn.workers.UvicornWorker"], "Error: Invalid value for worker_class: "
     "'uvicorn.workers.UvicornWorker' is an ASGI worker, which unicorn leaves out; unicorn "
     "serves WSGI only: run an ASGI app with an ASGI server such as uvicorn"),
    (["-k", "gevent_pywsgi"], "Error: Invalid value for worker_class: 'gevent_pywsgi' is a "
     "gunicorn worker built on gevent's own WSGI server, which unicorn leaves out; use -k "
     "gevent, unicorn's green-thread worker"),
    (["--ssl-version", "2"], "Error: --ssl-version is gunicorn's option for choosing one TLS "
     "version (ignored by gunicorn since 21.0), which unicorn leaves out; unicorn always allows "
     "TLS 1.2 and later; narrow it with --ciphers"),
])
def test_gunicorn_features_left_out_say_what_to_use(tmp_path, args, line):
    assert error_line(run(*args, "app:app", cwd=tmp_path)) == line


def test_every_left_out_option_is_really_absent():
    ours = {flag for setting in SETTINGS for flag in setting.flags}
    theirs = {flag for flags, _, _ in LEFT_OUT_OPTIONS for flag in flags}
    assert not ours & theirs


def test_winch_without_daemon_says_why_it_is_ignored():
    server = Server(app="server_apps:hello")
    try:
        server.ready()
        workers = server.worker_pids()
        server.signal(signal.SIGWINCH)
        server.wait_for_line(r"\[INFO\] Ignoring SIGWINCH: it stops the workers only with "
                             r"--daemon; without it, WINCH comes from a terminal window being "
                             r"resized$")
        wait_until(lambda: server.worker_pids() == workers, 5, "the workers changed")
    finally:
        server.kill()
