"""The WSGI entry point that `unicorn mysite.wsgi` (or mysite.wsgi:application) loads.

As in every Django project: the settings module defaults to mysite.settings, and an
environment that already names one (DJANGO_SETTINGS_MODULE) wins.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = get_wsgi_application()
