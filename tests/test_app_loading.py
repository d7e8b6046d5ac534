"""Loading APP_MODULE: load_app in-process, and --check-config / sys.path in real processes.

The fixture modules live in tests/apps/loading_*.py.
"""

import os
import subprocess
import sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from unicorn import app as app_module
from unicorn.app import AppImportError, load_app

REPO_ROOT = Path(__file__).resolve().parent.parent
APPS = REPO_ROOT / "tests" / "apps"


@pytest.fixture(autouse=True)
def apps_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(APPS))


def call(app) -> tuple[str, bytes]:
    """Serve one GET through wsgiref's validator and return (status, body)."""
    environ, seen = {"QUERY_STRING": ""}, {}
    setup_testing_defaults(environ)

    def start_response(status, headers, exc_info=None):
        seen["status"] = status
        return lambda data: None

    result = validator(app)(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    return seen["status"], body


def load_error(uri: str) -> AppImportError:
    with pytest.raises(AppImportError) as raised:
        load_app(uri)
    assert "\n" not in str(raised.value)
    return raised.value


# -- What an APP_MODULE may say


def test_module_and_variable():
    assert call(load_app("loading_app:app")) == ("200 OK", b"hello from app\n")


def test_module_alone_means_application():
    assert load_app("loading_app") is load_app("loading_app:app")


def test_attribute_path():
    assert call(load_app("loading_app:holder.app"))[1] == b"hello from app\n"


def test_factory_with_literal_arguments():
    app = load_app("loading_app:create_app('hi', status='201 Created')")
    assert call(app) == ("201 Created", b"hi")
    assert call(load_app("loading_app:create_app()")) == ("200 OK", b"hello")


def test_factory_arguments_must_be_literals():
    error = load_error("loading_app:create_app(__import__('os').getcwd())")
    assert "must be Python literals" in str(error)
    assert "may not use **" in str(load_error("loading_app:create_app(**{'status': 'x'})"))


def test_factory_called_with_arguments_it_does_not_take():
    error = load_error("loading_app:create_app('a', 'b')")
    assert str(error).startswith("Cannot call the factory in app")


def test_factory_that_raises_keeps_its_traceback():
    error = load_error("loading_app:broken_factory()")
    assert "RuntimeError: the factory failed" in str(error)
    assert isinstance(error.__cause__, RuntimeError)
    assert error.__cause__.__traceback__ is not None


def test_factory_that_returns_none():
    assert "is not callable (it is NoneType)" in str(load_error("loading_app:returns_none()"))


@pytest.mark.parametrize("uri", ["loading_app:app(", "loading_app:1 + 2", "loading_app:app[0]",
                                 "loading_app:create_app()()"])
def test_expressions_that_are_not_names_or_calls(uri):
    assert f"in app {uri!r}" in str(load_error(uri))


# -- What goes wrong, in one line each


def test_missing_module():
    assert str(load_error("nope:app")) == "No module named 'nope' (while importing app 'nope:app')"


def test_missing_package_of_a_dotted_module():
    assert str(load_error("nopkg.sub:app")).startswith("No module named 'nopkg'")


def test_file_name_instead_of_module_name_gets_a_hint():
    assert "did you mean 'loading_app'?" in str(load_error("loading_app.py:app"))


def test_missing_attribute():
    assert str(load_error("loading_app:ap")) == "Failed to find attribute 'ap' in 'loading_app'."
    assert "'holder.nope'" in str(load_error("loading_app:holder.nope"))


def test_not_callable():
    assert str(load_error("loading_app:not_callable")) == (
        "'loading_app:not_callable' is not callable (it is str)")


def test_module_that_raises_keeps_its_traceback():
    error = load_error("loading_raises:app")
    assert str(error) == ("Importing 'loading_raises' for app 'loading_raises:app' raised "
                          "RuntimeError: boom while importing")
    assert isinstance(error.__cause__, RuntimeError)
    assert "loading_raises" not in sys.modules  # a failed import leaves nothing behind


def test_a_missing_dependency_is_not_a_missing_app_module():
    error = load_error("loading_needs_missing:app")
    assert "raised ModuleNotFoundError" in str(error)
    assert "unicorn_test_dependency_that_does_not_exist" in str(error)


def test_empty_module_name():
    assert "MODULE:VARIABLE" in str(load_error(":app"))


def test_gunicorns_exit_codes():
    assert (app_module.WORKER_BOOT_ERROR, app_module.APP_LOAD_ERROR) == (3, 4)


# -- --check-config in a real process


def run_unicorn(*args, cwd):
    environ = {k: v for k, v in os.environ.items() if k != "UNICORN_CMD_ARGS"}
    environ["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-m", "unicorn", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("uri", ["loading_app:app", "loading_app",
                                 "loading_app:create_app('hi', status='201 Created')"])
def test_check_config_with_a_good_app(tmp_path, uri):
    result = run_unicorn("--check-config", "--chdir", str(APPS), uri, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("uri, fragment", [
    ("nope:app", "No module named 'nope'"),
    ("loading_app:ap", "Failed to find attribute 'ap' in 'loading_app'."),
    ("loading_app:not_callable", "is not callable"),
    ("loading_raises:app", "raised RuntimeError: boom while importing"),
    ("loading_app:create_app(open('x'))", "must be Python literals"),
])
def test_check_config_with_a_bad_app(tmp_path, uri, fragment):
    result = run_unicorn("--check-config", "--chdir", str(APPS), uri, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("Error: ") and fragment in lines[-1]
    # A traceback comes first only when the application's own code raised.
    assert (lines[0] == "Traceback (most recent call last):") == ("raised" in fragment)
    assert (len(lines) > 1) == ("raised" in fragment)


def test_the_working_directory_is_on_the_import_path():
    result = run_unicorn("--check-config", "loading_app:app", cwd=APPS)
    assert (result.returncode, result.stderr) == (0, "")


def test_pythonpath_entries_are_importable(tmp_path):
    result = run_unicorn("--check-config", "--pythonpath", f"/nonexistent,{APPS}",
                         "loading_app:app", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


def test_chdir_from_the_config_file_is_applied_before_loading(tmp_path):
    (tmp_path / "unicorn.conf.py").write_text(f"chdir = {str(APPS)!r}\n")
    result = run_unicorn("--check-config", "loading_app:app", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
