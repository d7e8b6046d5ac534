"""Lab 1's tests: the apps in labs/01-wsgi/starter/apps.py, called under wsgiref.validate and
served once each by a real `python -m unicorn`.

One part at a time:  python -m pytest labs/01-wsgi/tests -k test_01a_
Against the answer:  LAB_IMPL=reference python -m pytest labs/01-wsgi/tests
"""

import io
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from unicorn.labs.testing import Book, get, serve_with_unicorn

book = Book(__file__)

APP, BODY, MIDDLEWARE = "The callable", "Reading the body", "Middleware"
HELLO = b"Hello, world!\n"


@pytest.fixture(scope="module")
def apps(impl):
    """The module under test: the starter, or the reference (LAB_IMPL)."""
    return impl.load("apps")


class ClientStream(io.RawIOBase):
    """wsgi.input as a real client makes it: once the body is read, reading more would wait
    forever for bytes that never come. Here it fails instead, and says so."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.data:
            raise AssertionError(book.says(
                "the app read past the body: a real client would leave it waiting here", BODY))
        size = min(len(buffer), len(self.data))
        buffer[:size], self.data = self.data[:size], self.data[size:]
        return size


def call(app, section: str, method: str = "GET", path: str = "/", body: bytes | None = None,
         extra: bytes = b"") -> tuple[str, dict[str, str], bytes]:
    """Call `app` once under wsgiref.validate; return (status, headers, body).

    `body` sets CONTENT_LENGTH; `extra` is what the client sends after the body (the next
    request, say), which the app must not read.
    """
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
               "QUERY_STRING": "",
               "wsgi.input": io.BufferedReader(ClientStream((body or b"") + extra))}
    if body is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
    setup_testing_defaults(environ)
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers={name.lower(): value for name, value in headers})

    checked = validator(app)
    try:
        result = checked(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            result.close()
    except AssertionError as error:  # wsgiref.validate's complaints are AssertionErrors
        message = str(error).splitlines()[0] if str(error) else "an assertion failed"
        if "see the book" in message:
            raise
        raise AssertionError(book.says(f"wsgiref.validate refused the app: {message}",
                                       section)) from error
    return answer["status"], answer["headers"], data


# --- Part a: an application ------------------------------------------------------------------


def test_01a_get_root_says_hello(apps):
    status, headers, body = call(apps.hello, APP)
    assert (status[:3], body) == ("200", HELLO), book.expected(("200", HELLO), (status, body), APP)
    assert headers.get("content-type", "").startswith("text/plain"), book.expected(
        "Content-Type: text/plain", headers.get("content-type"), APP)
    assert headers.get("content-length") == str(len(body)), book.expected(
        f"Content-Length: {len(body)}", headers.get("content-length"), APP)


def test_01a_unknown_path_is_404(apps):
    status, _, _ = call(apps.hello, APP, path="/nowhere")
    assert status[:3] == "404", book.expected("404 for GET /nowhere", status, APP)


def test_01a_other_method_is_405_with_allow(apps):
    status, headers, _ = call(apps.hello, APP, method="DELETE")
    assert status[:3] == "405", book.expected("405 for DELETE /", status, APP)
    assert "GET" in headers.get("allow", ""), book.expected(
        "an Allow header naming GET (RFC 9110 §15.5.6)", headers.get("allow"), APP)


def test_01a_hello_served_by_unicorn(apps, impl, start):
    served = serve_with_unicorn(start, impl, "apps", "hello")
    response = served.request(get("/"))
    assert (response.status, response.body) == (200, HELLO), book.expected(
        f"200 {HELLO!r} from python -m unicorn", response.raw, APP)
    response = served.request(get("/nowhere"))
    assert response.status == 404, book.expected("404 from python -m unicorn", response.raw, APP)


# --- Part b: reading the body ----------------------------------------------------------------


def test_01b_echo_returns_the_body(apps):
    status, headers, body = call(apps.echo, BODY, method="POST", body=b"hello, lab 1")
    assert (status[:3], body) == ("200", b"hello, lab 1"), book.expected(
        ("200", b"hello, lab 1"), (status, body), BODY)
    assert headers.get("content-length") == str(len(body)), book.expected(
        f"Content-Length: {len(body)}", headers.get("content-length"), BODY)


def test_01b_echo_stops_at_content_length(apps):
    _, _, body = call(apps.echo, BODY, method="POST", body=b"hello",
                      extra=b"GET /next HTTP/1.1\r\n")
    assert body == b"hello", book.expected(b"hello (and not the next request)", body, BODY)


@pytest.mark.parametrize("body", [None, b""], ids=["no CONTENT_LENGTH", "CONTENT_LENGTH 0"])
def test_01b_echo_without_a_body_reads_nothing(apps, body):
    status, _, data = call(apps.echo, BODY, method="GET", body=body)
    assert (status[:3], data) == ("200", b""), book.expected(("200", b""), (status, data), BODY)


def test_01b_echo_served_by_unicorn(apps, impl, start):
    served = serve_with_unicorn(start, impl, "apps", "echo")
    payload = bytes(range(256)) * 40
    response = served.request(get("/", method="POST", body=payload))
    assert (response.status, response.body) == (200, payload), book.expected(
        f"200 and the {len(payload)} bytes sent", response.raw, BODY)


# --- Part c: a middleware --------------------------------------------------------------------


def plain_app(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Inner", "yes")])
    return [b"inner"]


def generator_app(environ, start_response):
    """An app whose start_response is called only when the server starts iterating."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"gen"


def test_01c_counts_requests_in_a_header(apps):
    counted = apps.count_requests(validator(plain_app))
    for number in (1, 2, 3):
        status, headers, body = call(counted, MIDDLEWARE)
        got = (status[:3], headers.get("x-inner"), headers.get("x-request-count"), body)
        want = ("201", "yes", str(number), b"inner")
        assert got == want, book.expected(want, got, MIDDLEWARE)


def test_01c_each_wrapper_counts_its_own_requests(apps):
    first, second = apps.count_requests(plain_app), apps.count_requests(plain_app)
    call(first, MIDDLEWARE)
    _, headers, _ = call(second, MIDDLEWARE)
    assert headers.get("x-request-count") == "1", book.expected(
        "X-Request-Count: 1 from a new wrapper (a count per wrapper, not a global)",
        headers.get("x-request-count"), MIDDLEWARE)


def test_01c_wraps_an_app_that_starts_late(apps):
    _, headers, body = call(apps.count_requests(generator_app), MIDDLEWARE)
    assert (headers.get("x-request-count"), body) == ("1", b"gen"), book.expected(
        ("1", b"gen"), (headers.get("x-request-count"), body), MIDDLEWARE)


def test_01c_passes_exc_info_and_close_through(apps):
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")], None)  # exc_info, positional
        return Body([b"body"])

    call(apps.count_requests(app), MIDDLEWARE)
    assert closed, book.expected("the server's close() to reach the app's iterable (PEP 3333)",
                                 "it was never closed", MIDDLEWARE)


def test_01c_counted_hello_served_by_unicorn(apps, impl, start):
    served = serve_with_unicorn(start, impl, "apps", "create_app()")
    counts = [served.request(get("/")).headers.get("x-request-count") for _ in range(2)]
    assert counts == ["1", "2"], book.expected(["1", "2"], counts, MIDDLEWARE)
