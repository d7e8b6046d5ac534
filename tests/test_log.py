"""Logging: error-line format, levels, access atoms, reopening files, --explain, capture_output."""

import base64
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from unicorn.log import DEFAULT_ACCESS_FORMAT, AccessRecord, Logger, escape

REPO = Path(__file__).resolve().parents[1]

ERROR_LINE = re.compile(
    r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\] \[(?P<pid>\d+)\] \[(?P<level>[A-Z]+)\] (?P<message>.*)$"
)
ACCESS_TIME = r"\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def messages(path: Path) -> list[tuple[str, str]]:
    """(level, message) of every error-log line, checking the line format on the way."""
    result = []
    for line in lines(path):
        match = ERROR_LINE.match(line)
        assert match, f"not an error-log line: {line!r}"
        result.append((match["level"], match["message"]))
    return result


def make_environ(**overrides) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/search?q=unicorn",
        "PATH_INFO": "/search",
        "QUERY_STRING": "q=unicorn",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "HTTP_REFERER": "http://example.com/",
        "HTTP_USER_AGENT": "curl/8.0",
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:secret").decode(),
        "HTTP_X_REQUEST_ID": "abc123",
        "CONTENT_TYPE": "text/plain",
        "wsgi.url_scheme": "http",
    }
    environ.update(overrides)
    return environ


def record(environ=None, status="200 OK", headers=None, sent=1234, request_time=2.5):
    headers = headers if headers is not None else [("Content-Type", "text/html"), ("X-Cache", "HIT")]
    return AccessRecord(environ or make_environ(), status, headers, sent, request_time)


# --- the error log ---------------------------------------------------------------------------


def test_error_lines_use_gunicorns_format_and_printf_arguments(tmp_path):
    path = tmp_path / "error.log"
    log = Logger(errorlog=str(path))
    log.info("Booting worker with pid: %s", 1235)
    log.error("Worker (pid:%d) was sent SIGKILL!", 1236)
    [first, second] = lines(path)
    assert ERROR_LINE.match(first)["pid"] == str(os.getpid())
    assert messages(path) == [
        ("INFO", "Booting worker with pid: 1235"),
        ("ERROR", "Worker (pid:1236) was sent SIGKILL!"),
    ]


@pytest.mark.parametrize(
    "loglevel, shown",
    [
        ("debug", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
        ("info", ["INFO", "WARNING", "ERROR", "CRITICAL"]),
        ("WARNING", ["WARNING", "ERROR", "CRITICAL"]),
        ("error", ["ERROR", "CRITICAL"]),
        ("critical", ["CRITICAL"]),
    ],
)
def test_loglevel_filters_the_error_log(tmp_path, loglevel, shown):
    path = tmp_path / "error.log"
    log = Logger(errorlog=str(path), loglevel=loglevel)
    for method in (log.debug, log.info, log.warning, log.error, log.critical):
        method("x")
    assert [level for level, _ in messages(path)] == shown


def test_an_unknown_loglevel_is_refused():
    with pytest.raises(ValueError, match="unknown loglevel 'loud'"):
        Logger(loglevel="loud")


def test_exception_logs_the_traceback(tmp_path):
    path = tmp_path / "error.log"
    log = Logger(errorlog=str(path))
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        log.exception("Error handling request %s", "/boom")
    text = path.read_text()
    assert "[ERROR] Error handling request /boom" in text
    assert "ZeroDivisionError: division by zero" in text


def test_dash_means_stderr_for_errors_and_stdout_for_access(capsys):
    log = Logger(errorlog="-", accesslog="-")
    log.warning("to stderr")
    log.access(make_environ(), "200 OK", [], 5, 0.1)
    out, err = capsys.readouterr()
    assert err.endswith("[WARNING] to stderr\n")
    assert out.startswith('192.0.2.7 - alice [')
    assert out.endswith('"GET /search?q=unicorn HTTP/1.1" 200 5 "http://example.com/" "curl/8.0"\n')


def test_the_access_log_is_off_without_accesslog(capsys, tmp_path):
    log = Logger(errorlog=str(tmp_path / "error.log"))
    assert log.access_log_enabled is False
    log.access(make_environ(), "200 OK", [], 5, 0.1)
    assert capsys.readouterr() == ("", "")
    assert lines(tmp_path / "error.log") == []


def test_a_new_logger_replaces_the_previous_one(tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    Logger(errorlog=str(first))
    log = Logger(errorlog=str(second))
    log.info("only once, only here")
    assert lines(first) == []
    assert [message for _, message in messages(second)] == ["only once, only here"]


# --- the access log --------------------------------------------------------------------------


def test_default_access_line_in_a_file(tmp_path):
    path = tmp_path / "access.log"
    log = Logger(errorlog=os.devnull, accesslog=str(path))
    assert log.access_log_format == DEFAULT_ACCESS_FORMAT
    log.access(make_environ(), "404 Not Found", [("Content-Length", "9")], 9, 0.003)
    [line] = lines(path)
    assert re.fullmatch(
        rf'192\.0\.2\.7 - alice {ACCESS_TIME} "GET /search\?q=unicorn HTTP/1\.1" 404 9 '
        r'"http://example\.com/" "curl/8\.0"',
        line,
    ), line


@pytest.mark.parametrize(
    "atom, expected",
    [
        ("h", "192.0.2.7"),
        ("l", "-"),
        ("u", "alice"),
        ("r", "GET /search?q=unicorn HTTP/1.1"),
        ("s", "200"),
        ("m", "GET"),
        ("U", "/search"),
        ("q", "q=unicorn"),
        ("H", "HTTP/1.1"),
        ("b", "1234"),
        ("B", 1234),
        ("f", "http://example.com/"),
        ("a", "curl/8.0"),
        ("T", 2),
        ("D", 2_500_000),
        ("M", 2_500),
        ("L", "2.500000"),
        ("p", f"<{os.getpid()}>"),
        ("{X-Request-Id}i", "abc123"),
        ("{x-request-id}i", "abc123"),
        ("{content-type}i", "text/plain"),
        ("{Accept}i", "-"),
        ("{content-type}o", "text/html"),
        ("{X-CACHE}o", "HIT"),
        ("{Set-Cookie}o", "-"),
        ("{wsgi.url_scheme}e", "http"),
        ("{remote_addr}e", "192.0.2.7"),
        ("{NO_SUCH_VARIABLE}e", "-"),
        ("nonsense", "-"),
        ("{x}z", "-"),
    ],
)
def test_each_access_atom(atom, expected):
    assert record()[atom] == expected


def test_the_time_atom():
    assert re.fullmatch(ACCESS_TIME, record()["t"])


def test_atoms_in_a_format_string():
    line = "%(s)s %(T)ss %(D)dus %({x-cache}o)s %({user-agent}i)s" % record()  # noqa: UP031
    assert line == "200 2s 2500000us HIT curl/8.0"


@pytest.mark.parametrize("sent, b, big_b", [(0, "0", 0), (None, "-", 0), (1, "1", 1)])
def test_b_is_a_dash_only_when_no_response_was_sent(sent, b, big_b):
    """As gunicorn: an empty body is 0 bytes; "-" means there was no response at all."""
    assert (record(sent=sent)["b"], record(sent=sent)["B"]) == (b, big_b)


def test_a_repeated_response_header_is_joined():
    headers = [("Set-Cookie", "a=1"), ("set-cookie", "b=2")]
    assert record(headers=headers)["{set-cookie}o"] == "a=1, b=2"


@pytest.mark.parametrize("authorization", [None, "Bearer abc.def", "Basic not*base64", "Basic"])
def test_user_is_a_dash_without_readable_basic_credentials(authorization):
    environ = make_environ()
    del environ["HTTP_AUTHORIZATION"]
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    assert record(environ)["u"] == "-"


def test_a_user_name_that_is_not_utf8_is_still_logged_safely():
    credentials = base64.b64encode(b"\xff:x").decode()
    assert record(make_environ(HTTP_AUTHORIZATION=f"Basic {credentials}"))["u"] == "\\ufffd"


def test_basic_scheme_is_case_insensitive():
    environ = make_environ(HTTP_AUTHORIZATION="basic " + base64.b64encode(b"bob:pw").decode())
    assert record(environ)["u"] == "bob"


def test_the_request_line_is_rebuilt_without_raw_uri():
    environ = make_environ()
    del environ["RAW_URI"]
    assert record(environ)["r"] == "GET /search?q=unicorn HTTP/1.1"
    environ["QUERY_STRING"] = ""
    assert record(environ)["r"] == "GET /search HTTP/1.1"


def test_client_chosen_text_cannot_break_the_line():
    environ = make_environ(
        HTTP_USER_AGENT='evil" "injected',
        HTTP_REFERER="a\nfake line\r\n",
        PATH_INFO="C:\\path",
        HTTP_X_NAME="caf\xc3\xa9",  # "café" in UTF-8, as WSGI's latin-1 strings carry it
    )
    atoms = record(environ)
    assert atoms["a"] == 'evil\\" \\"injected'
    assert atoms["f"] == "a\\x0afake line\\x0d\\x0a"
    assert atoms["U"] == "C:\\\\path"
    assert atoms["{x-name}i"] == "caf\\xc3\\xa9"
    assert escape("plain /text?x=1") == "plain /text?x=1"


def test_a_bad_access_format_is_logged_not_raised(tmp_path):
    error_log, access_log = tmp_path / "error.log", tmp_path / "access.log"
    log = Logger(errorlog=str(error_log), accesslog=str(access_log), access_log_format="%(h)d")
    log.access(make_environ(), "200 OK", [], 1, 0.1)
    assert lines(access_log) == []
    assert "[ERROR] Bad access_log_format '%(h)d'" in error_log.read_text()


# --- reopening files (USR1) ------------------------------------------------------------------


def test_reopen_files_after_logrotate_renamed_them(tmp_path):
    error_log, access_log = tmp_path / "error.log", tmp_path / "access.log"
    log = Logger(errorlog=str(error_log), accesslog=str(access_log), access_log_format="%(U)s")
    log.info("before rotation")
    log.access(make_environ(PATH_INFO="/old"), "200 OK", [], 1, 0.1)
    error_log.rename(tmp_path / "error.log.1")
    access_log.rename(tmp_path / "access.log.1")
    log.info("after rename, before USR1")  # the fd still points at the renamed file
    log.reopen_files()
    log.info("after USR1")
    log.access(make_environ(PATH_INFO="/new"), "200 OK", [], 1, 0.1)
    assert [m for _, m in messages(tmp_path / "error.log.1")] == [
        "before rotation",
        "after rename, before USR1",
    ]
    assert [m for _, m in messages(error_log)] == ["after USR1"]
    assert lines(tmp_path / "access.log.1") == ["/old"]
    assert lines(access_log) == ["/new"]


def test_reopen_files_leaves_stderr_alone(capsys):
    log = Logger(errorlog="-")
    log.reopen_files()
    log.info("still on stderr")
    assert capsys.readouterr().err.endswith("[INFO] still on stderr\n")


# --- --explain -------------------------------------------------------------------------------


def test_explain_writes_at_info_whatever_the_level(tmp_path):
    path = tmp_path / "error.log"
    log = Logger(errorlog=str(path), loglevel="error", explain=True)
    log.info("hidden by the level")
    log.explain("Forked worker 1235: it shares the listening sockets", "The pre-fork model")
    assert messages(path) == [
        ("INFO", '[explain] Forked worker 1235: it shares the listening sockets '
                 '(book: "The pre-fork model")'),
    ]


def test_explain_is_silent_unless_asked(tmp_path):
    path = tmp_path / "error.log"
    log = Logger(errorlog=str(path), loglevel="debug")
    log.explain("Forked worker 1235", "The pre-fork model")
    assert lines(path) == []


def test_explain_does_not_treat_percent_signs_as_arguments(tmp_path):
    path = tmp_path / "error.log"
    Logger(errorlog=str(path), explain=True).explain("100% of %s", "Logging")
    assert messages(path) == [("INFO", '[explain] 100% of %s (book: "Logging")')]


# --- logconfig_dict --------------------------------------------------------------------------


def test_logconfig_dict_configures_our_loggers(tmp_path):
    error_path, access_path = tmp_path / "custom-error.log", tmp_path / "custom-access.log"
    log = Logger(
        errorlog=str(tmp_path / "unused.log"),
        logconfig_dict={
            "formatters": {"bare": {"format": "%(levelname)s|%(message)s"}},
            "handlers": {
                "errors": {"class": "logging.FileHandler", "filename": str(error_path),
                           "formatter": "bare"},
                "access": {"class": "logging.FileHandler", "filename": str(access_path),
                           "formatter": "bare"},
            },
            "loggers": {
                "unicorn.error": {"level": "WARNING", "handlers": ["errors"]},
                "unicorn.access": {"level": "INFO", "handlers": ["access"]},
            },
        },
    )
    log.info("filtered by the dict's level")
    log.warning("configured by dict")
    assert log.access_log_enabled  # the dict routes the access log even without accesslog
    log.access(make_environ(), "201 Created", [], 0, 0.1)
    assert lines(error_path) == ["WARNING|configured by dict"]
    assert re.fullmatch(r'INFO\|192\.0\.2\.7 - alice .* 201 0 .*', lines(access_path)[0])
    assert lines(tmp_path / "unused.log") == []


def test_a_broken_logconfig_dict_is_a_clear_error():
    with pytest.raises(ValueError, match="^logconfig_dict: "):
        Logger(logconfig_dict={"handlers": {"x": {"class": "no.such.Handler"}}})


# --- capture_output --------------------------------------------------------------------------

CAPTURE_CHILD = textwrap.dedent(
    """
    import os, sys
    from unicorn.log import Logger
    path = sys.argv[1]
    log = Logger(errorlog=path, capture_output=True)
    log.info("from the logger")
    print("from print", flush=True)
    os.write(2, b"from fd 2\\n")
    os.rename(path, path + ".1")
    log.reopen_files()
    print("after USR1", flush=True)
    """
)


def test_capture_output_sends_stdout_and_stderr_to_the_error_log(tmp_path):
    path = tmp_path / "error.log"
    child = subprocess.run(
        [sys.executable, "-c", CAPTURE_CHILD, str(path)],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=30,
    )
    assert child.returncode == 0, child.stderr
    assert (child.stdout, child.stderr) == ("", "")
    rotated = lines(tmp_path / "error.log.1")
    assert rotated[0].endswith("[INFO] from the logger")
    assert rotated[1:] == ["from print", "from fd 2"]
    assert lines(path) == ["after USR1"]
