"""The anchor both benchmarks measure against: gunicorn 27.0.1, imported or explained.

Run as scripts, the benchmarks have bench/ on sys.path, so they import this
module by its plain name.
"""

import sys

GUNICORN_VERSION = "27.0.1"


def require_gunicorn():
    """Return the gunicorn module, or exit saying how to install the version we compare with."""
    try:
        import gunicorn
    except ImportError:
        sys.exit(f"gunicorn is not importable; install it with: "
                 f"pip install gunicorn=={GUNICORN_VERSION}")
    if gunicorn.__version__ != GUNICORN_VERSION:
        print(f"warning: gunicorn {gunicorn.__version__} is installed; the targets are "
              f"stated against {GUNICORN_VERSION}")
    return gunicorn
