import os

from django.conf import settings
from django.http import JsonResponse


def index(request):
    """Which settings module Django loaded, which process served, and how it saw the request."""
    return JsonResponse({
        "settings": settings.SETTINGS_MODULE,
        "pid": os.getpid(),
        "scheme": request.scheme,
        "host": request.get_host(),
    })
