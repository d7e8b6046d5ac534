"""``python -m unicorn`` runs the same entry point as the ``unicorn`` command.

Running a package with ``-m`` executes this file; it hands over to ``cli.main``.

Explained in the chapter "Configuration".
gunicorn: gunicorn/__main__.py.
"""

import sys

from unicorn.cli import main

sys.exit(main())
