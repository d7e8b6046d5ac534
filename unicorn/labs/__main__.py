"""`python -m unicorn.labs list | check NN | hint NN`: see unicorn/labs/cli.py."""

from unicorn.labs.cli import main

raise SystemExit(main())
