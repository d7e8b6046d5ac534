"""A small WSGI module for tests/test_app_loading.py: every way APP_MODULE can name an app."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from app\n"]


application = app  # what "loading_app" alone means


class holder:
    """For the attribute path "loading_app:holder.app"."""

    app = staticmethod(app)


not_callable = "just a string"


def create_app(greeting="hello", *, status="200 OK"):
    """A factory: "loading_app:create_app('hi', status='201 Created')"."""

    def greeter(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")])
        return [greeting.encode()]

    return greeter


def broken_factory():
    raise RuntimeError("the factory failed")


def returns_none():
    return None
