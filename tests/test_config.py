"""Settings: the table, the layers (defaults < file < UNICORN_CMD_ARGS < CLI) and their errors.

Behaviour that belongs to the command runs `python -m unicorn` in a real process;
the validators and Config.load are also exercised in-process, with real files.
"""

import grp
import os
import pwd
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.config import Config, ConfigError, build_parser, format_config
from unicorn.settings import SETTINGS

REPO_ROOT = Path(__file__).resolve().parent.parent
# Variables that change defaults; each test sets the ones it wants.
PLATFORM_VARIABLES = ("PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "SENDFILE",
                      "UNICORN_CMD_ARGS")


def run_unicorn(*args, cwd, **variables):
    environ = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    environ["PYTHONPATH"] = str(REPO_ROOT)
    environ.update(variables)
    return subprocess.run([sys.executable, "-m", "unicorn", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60)


def printed_config(*args, cwd, **variables) -> dict[str, str]:
    """Run --print-config and return {name: repr of value}."""
    result = run_unicorn("--print-config", *args, cwd=cwd, **variables)
    assert result.returncode == 0, result.stderr
    return dict(line.split(" = ", 1) for line in result.stdout.splitlines())


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Config.load reads ./unicorn.conf.py, so in-process tests run in an empty directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- The table itself


def test_every_setting_is_described_once_with_a_section_and_help():
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names))
    flags = [flag for setting in SETTINGS for flag in setting.flags]
    assert len(flags) == len(set(flags))
    for setting in SETTINGS:
        assert setting.section and setting.help.endswith(".")
        setting.validate(setting.default)  # every default passes its own validator


def test_defaults_are_gunicorns(in_tmp):
    cfg = Config.load([], {})
    assert cfg.bind == ["127.0.0.1:8000"]
    assert (cfg.backlog, cfg.workers, cfg.threads, cfg.worker_connections) == (2048, 1, 1, 1000)
    assert (cfg.timeout, cfg.graceful_timeout, cfg.keepalive) == (30, 30, 2)
    assert (cfg.limit_request_line, cfg.limit_request_fields,
            cfg.limit_request_field_size) == (4094, 100, 8190)
    assert (cfg.errorlog, cfg.accesslog, cfg.loglevel) == ("-", None, "info")
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert cfg.sendfile is True and cfg.preload_app is False and cfg.explain is False
    assert (cfg.user, cfg.group) == (None, None)  # None: do not switch
    assert cfg.chdir == str(in_tmp) and cfg.config is None and cfg.app_uri is None


# -- Layers, shown through --print-config in a real process


def test_each_layer_overrides_only_what_it_sets(tmp_path):
    write(tmp_path / "unicorn.conf.py", """
        workers = 2
        timeout = 10
        backlog = 64
    """)
    shown = printed_config("-w", "4", cwd=tmp_path, UNICORN_CMD_ARGS="-w 3 -t 20")
    assert shown["workers"] == "4"  # command line beats UNICORN_CMD_ARGS
    assert shown["timeout"] == "20"  # UNICORN_CMD_ARGS beats the file
    assert shown["backlog"] == "64"  # the file beats the default
    assert shown["keepalive"] == "2"  # nobody set it
    assert shown["config"] == repr(str(tmp_path / "unicorn.conf.py"))


def test_flags_left_out_do_not_reset_the_config_file(tmp_path):
    write(tmp_path / "unicorn.conf.py", "preload_app = True\nbind = ['127.0.0.1:9001']\n")
    shown = printed_config("--reload", cwd=tmp_path)
    assert (shown["preload_app"], shown["reload"]) == ("True", "True")
    assert shown["bind"] == "['127.0.0.1:9001']"


def test_bind_repeats_and_the_command_line_list_replaces_the_files(tmp_path):
    write(tmp_path / "unicorn.conf.py", "bind = '127.0.0.1:9001'\n")
    shown = printed_config("-b", "127.0.0.1:9002", "-b", "unix:/tmp/u.sock", cwd=tmp_path)
    assert shown["bind"] == "['127.0.0.1:9002', 'unix:/tmp/u.sock']"


def test_config_file_named_in_unicorn_cmd_args(tmp_path):
    write(tmp_path / "other.py", "workers = 7\n")
    shown = printed_config(cwd=tmp_path, UNICORN_CMD_ARGS="--config other.py")
    assert shown["workers"] == "7"


def test_command_line_config_file_wins_over_the_default_one(tmp_path):
    write(tmp_path / "unicorn.conf.py", "workers = 2\n")
    write(tmp_path / "chosen.py", "timeout = 5\n")
    shown = printed_config("-c", "chosen.py", cwd=tmp_path)
    assert (shown["workers"], shown["timeout"]) == ("1", "5")


def test_port_and_web_concurrency_set_defaults(tmp_path):
    shown = printed_config(cwd=tmp_path, PORT="5000", WEB_CONCURRENCY="5")
    assert (shown["bind"], shown["workers"]) == ("['0.0.0.0:5000']", "5")
    shown = printed_config("-b", "127.0.0.1:1", "-w", "2", cwd=tmp_path,
                           PORT="5000", WEB_CONCURRENCY="5")
    assert (shown["bind"], shown["workers"]) == ("['127.0.0.1:1']", "2")


def test_other_environment_defaults(in_tmp):
    cfg = Config.load([], {"FORWARDED_ALLOW_IPS": "10.0.0.0/8, *", "SENDFILE": "no"})
    assert cfg.forwarded_allow_ips == ["10.0.0.0/8", "*"] and cfg.sendfile is False
    assert Config.load(["--no-sendfile"], {"SENDFILE": "yes"}).sendfile is False


def test_bad_web_concurrency_names_the_variable(tmp_path):
    result = run_unicorn("app:app", cwd=tmp_path, WEB_CONCURRENCY="lots")
    assert_one_line_error(result, "Invalid value for workers", "'lots' is not an integer",
                          "WEB_CONCURRENCY")


# -- One-line errors that name the setting


@pytest.mark.parametrize("args, fragments", [
    (["-w", "abc", "app:app"], ["Invalid value for workers: 'abc' is not an integer"]),
    (["-w", "0", "app:app"], ["Invalid value for workers: must be at least 1, got 0"]),
    (["-b", "host:notaport", "app:app"], ["Invalid value for bind", "'host:notaport'",
                                          "'notaport'"]),
    (["--log-level", "loud", "app:app"], ["Invalid value for loglevel", "'loud'"]),
    (["-k", "nonesuch", "app:app"], ["Invalid value for worker_class", "'nonesuch'"]),
    (["-e", "NOVALUE", "app:app"], ["Invalid value for raw_env", "KEY=VALUE"]),
    (["--chdir", "/no/such/dir", "app:app"], ["Invalid value for chdir"]),
    (["--forwarded-allow-ips", "10.0.0.1/8", "app:app"], ["Invalid value for forwarded_allow_ips"]),
    (["-u", "no_such_user_here", "app:app"], ["Invalid value for user", "no_such_user_here"]),
    (["--wrokers", "3", "app:app"], ["Unknown option '--wrokers'", "'--workers'"]),
    (["-c", "missing.py", "app:app"], ["Invalid value for config", "missing.py"]),
    (["app:one", "app:two"], ["'app:two'"]),
    (["-w"], ["-w/--workers", "expected one argument"]),
])
def test_command_line_errors_are_one_line(tmp_path, args, fragments):
    assert_one_line_error(run_unicorn(*args, cwd=tmp_path), *fragments)


def test_unknown_setting_in_config_file(tmp_path):
    write(tmp_path / "unicorn.conf.py", "wrokers = 4\n")
    result = run_unicorn("app:app", cwd=tmp_path)
    assert_one_line_error(
        result, "Unknown setting 'wrokers' in config file unicorn.conf.py", "'workers'")


def test_wrong_type_in_config_file(tmp_path):
    write(tmp_path / "unicorn.conf.py", "workers = 'many'\n")
    result = run_unicorn("--print-config", cwd=tmp_path)
    assert_one_line_error(result, "Invalid value for workers: 'many' is not an integer",
                          "in config file unicorn.conf.py")


def test_error_in_unicorn_cmd_args_says_so(tmp_path):
    result = run_unicorn("app:app", cwd=tmp_path, UNICORN_CMD_ARGS="-b host:notaport")
    assert_one_line_error(result, "Invalid value for bind", "in UNICORN_CMD_ARGS")
    result = run_unicorn("app:app", cwd=tmp_path, UNICORN_CMD_ARGS="--name 'unclosed")
    assert_one_line_error(result, "UNICORN_CMD_ARGS")


def test_config_file_that_raises_reports_its_line(tmp_path):
    write(tmp_path / "unicorn.conf.py", "workers = 2\ntimeout = 1 / 0\n")
    result = run_unicorn("app:app", cwd=tmp_path)
    assert_one_line_error(result, "unicorn.conf.py", "ZeroDivisionError", "(line 2)")
    write(tmp_path / "unicorn.conf.py", "workers = (\n")
    assert_one_line_error(run_unicorn("app:app", cwd=tmp_path), "SyntaxError", "(line 1)")


def test_missing_app_module_is_a_usage_error(tmp_path):
    result = run_unicorn(cwd=tmp_path)
    assert_one_line_error(result, "No application module specified", "usage: unicorn")


# -- The config file is Python


def test_config_file_may_import_compute_and_define_hooks(in_tmp):
    write(in_tmp / "unicorn.conf.py", """
        import multiprocessing
        import os.path
        from os import environ
        from os import getpid as _getpid

        _cores = multiprocessing.cpu_count()
        workers = _cores * 2 + 1
        chdir = os.path.dirname(__file__)

        def post_fork(server, worker):
            pass

        def _helper():
            return environ
    """)
    cfg = Config.load([], {})
    assert cfg.workers == os.cpu_count() * 2 + 1
    assert cfg.chdir == str(in_tmp)
    assert cfg.post_fork.__name__ == "post_fork"
    assert "post_fork = post_fork" in format_config(cfg).splitlines()


def test_a_hook_imported_from_another_module_is_still_a_setting(in_tmp):
    write(in_tmp / "myhooks.py", "def on_exit(server):\n    pass\n")
    write(in_tmp / "unicorn.conf.py", "import sys\nsys.path.insert(0, '.')\n"
                                      "from myhooks import on_exit\n")
    assert Config.load([], {}).on_exit.__module__ == "myhooks"


@pytest.mark.parametrize("source, fragment", [
    ("WORKERS = 3\n", "Unknown setting 'WORKERS'"),
    ("def helper():\n    pass\n", "Unknown setting 'helper'"),
    ("daemon = 'yes'\n", "Invalid value for daemon: 'yes' is not a boolean"),
    ("bind = 8000\n", "Invalid value for bind"),
    ("logconfig_dict = []\n", "Invalid value for logconfig_dict"),
])
def test_config_file_mistakes(in_tmp, source, fragment):
    write(in_tmp / "unicorn.conf.py", source)
    with pytest.raises(ConfigError) as raised:
        Config.load([], {})
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


# -- Hooks


def test_hooks_must_take_gunicorns_arguments(in_tmp):
    write(in_tmp / "unicorn.conf.py", "def pre_fork(server):\n    pass\n")
    with pytest.raises(ConfigError, match=r"pre_fork: pre_fork\(\) must accept 2 positional "
                                          r"argument\(s\): server, worker"):
        Config.load([], {})


@pytest.mark.parametrize("hook", [
    lambda worker, req, environ, resp: None,
    lambda *arguments: None,
    lambda worker, req, environ, resp, extra=None: None,
])
def test_hooks_accepted(hook):
    assert Config(post_request=hook).post_request is hook


@pytest.mark.parametrize("hook", [lambda worker, req: None, "not callable", None])
def test_hooks_rejected(hook):
    with pytest.raises(ConfigError, match="Invalid value for post_request"):
        Config(post_request=hook)


def test_default_hooks_do_nothing_and_print_as_do_nothing():
    cfg = Config()
    assert cfg.nworkers_changed("server", 2, 1) is None
    assert "on_exit = do_nothing" in format_config(cfg).splitlines()


# -- Derived values


@pytest.mark.parametrize("worker_class, threads, expected", [
    ("sync", 1, "sync"),
    ("sync", 4, "gthread"),
    ("gthread", 1, "gthread"),
    ("myproject.workers.Special", 4, "myproject.workers.Special"),
])
def test_worker_class_uri(worker_class, threads, expected):
    assert Config(worker_class=worker_class, threads=threads).worker_class_uri == expected


def test_threads_flag_selects_gthread(in_tmp):
    assert Config.load(["--threads", "4"], {}).worker_class_uri == "gthread"


def test_raw_env_as_a_dict():
    cfg = Config(raw_env=["A=1", "B=x=y", "EMPTY="])
    assert cfg.env == {"A": "1", "B": "x=y", "EMPTY": ""}


@pytest.mark.parametrize("raw, mode", [("022", 0o22), ("0o027", 0o27), ("18", 18),
                                       ("0x12", 18), (0o77, 0o77), ("0", 0)])
def test_umask_reads_like_the_shell(raw, mode):
    assert Config(umask=raw).umask == mode


@pytest.mark.parametrize("raw", ["089", "rw-r--r--", 0o1000, True])
def test_umask_rejects(raw):
    with pytest.raises(ConfigError, match="Invalid value for umask"):
        Config(umask=raw)


@given(st.integers(0, 0o777))
def test_umask_in_shell_octal_or_python_octal_is_the_same_mode(mode):
    assert Config(umask=f"0{mode:o}").umask == Config(umask=f"{mode:#o}").umask == mode


def test_user_and_group_by_name_or_number():
    me, my_group = pwd.getpwuid(os.geteuid()), grp.getgrgid(os.getegid())
    cfg = Config(user=me.pw_name, group=my_group.gr_name)
    assert (cfg.user, cfg.group) == (me.pw_uid, my_group.gr_gid)
    assert (Config(user="123").user, Config(group=45).group) == (123, 45)
    with pytest.raises(ConfigError, match="there is no group named 'no_such_group_here'"):
        Config(group="no_such_group_here")


def test_format_config_has_one_line_per_setting_in_table_order():
    lines = format_config(Config("m:app", workers=3)).splitlines()
    assert [line.split(" = ")[0] for line in lines] == [setting.name for setting in SETTINGS]
    assert "workers = 3" in lines and "loglevel = 'info'" in lines


# -- Bind addresses: unicorn.sockets.parse_address reads them; config rejects bad ones early


@pytest.mark.parametrize("bind", ["127.0.0.1:8000", "localhost", ":9000", "[::1]:8001",
                                  "unix:/run/u.sock", "fd://3", ["0.0.0.0:80", "[::]:80"]])
def test_bind_accepts(bind):
    expected = [bind] if isinstance(bind, str) else bind
    assert Config(bind=bind).bind == expected


@pytest.mark.parametrize("bind", ["host:notaport", "host:70000", "::1:8000", "[::1", "unix:",
                                  "fd://x", [], ["127.0.0.1:80", 443]])
def test_bind_rejects(bind):
    with pytest.raises(ConfigError, match="^Invalid value for bind: "):
        Config(bind=bind)


# -- Help and version


def test_help_lists_the_sections(tmp_path):
    result = run_unicorn("--help", cwd=tmp_path)
    assert result.returncode == 0
    for section in ("Server socket:", "Worker processes:", "Security:", "Debugging:",
                    "Server mechanics:", "Logging:"):
        assert section in result.stdout
    assert "--explain" in result.stdout and "Server hooks" in result.stdout


def test_version(tmp_path):
    result = run_unicorn("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "unicorn 0.1.0\n")


def test_parser_has_every_flag_of_the_table():
    help_text = build_parser().format_help()
    for setting in SETTINGS:
        for flag in setting.flags:
            assert flag in help_text
