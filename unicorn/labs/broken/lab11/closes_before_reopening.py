"""Broken: reopen() closes the old file first, then opens the name again.

Fine while the open succeeds. When it fails (the name is now a directory, the directory was
renamed, the disk is full, the worker may not create files there), the LogFile is left with a
closed file: the next write raises "I/O operation on closed file", and in a server that is a
failed request, or a dead worker, for every line until the next USR1. unicorn's _reopen opens
the new file before it closes the old one, so a failed open costs one error line.
"""

import sys

from unicorn.labs.broken.lab11._plain import PlainLogFile

REPLACES = "logfile"
CAUGHT_BY = ("test_11c_reopen_onto_a_directory_keeps_the_old_file",
             "test_11c_reopen_with_its_directory_gone_keeps_the_old_file")


class LogFile(PlainLogFile):
    def reopen(self) -> None:
        self.file.close()  # the mistake: nothing to fall back on if the open below fails
        try:
            self.file = open(self.path, "a")
        except OSError as error:
            print(f"Cannot reopen {self.path}: {error}", file=sys.stderr)
