"""The settings of the smallest Django project the deployment notes can run.

No database, no installed apps: one view, enough to show that unicorn imports
`mysite.wsgi`, that Django finds its settings (DJANGO_SETTINGS_MODULE, from
--env, the environment or a systemd Environment= line), and how it sees a request.
"""

DEBUG = False
SECRET_KEY = "only-for-the-tests-of-unicorn"  # a real project reads it from the environment
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "example.com"]
ROOT_URLCONF = "mysite.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
# Behind a proxy that unicorn trusts, X-Forwarded-Proto already set wsgi.url_scheme,
# which is what request.is_secure() reads; Django needs no SECURE_PROXY_SSL_HEADER.
