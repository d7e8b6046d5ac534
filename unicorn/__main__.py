"""``python -m unicorn`` runs the same entry point as the ``unicorn`` command."""

import sys

from unicorn.cli import main

sys.exit(main())
