"""Broken: reopen() opens the name with mode "w", which empties the file if it exists.

After a rename the name is new, so this looks right. But in unicorn the master reopens first and
the workers a moment later, all onto the same new file, and logrotate's `create` may already
have made it: each "w" throws away the lines written before it. A second USR1 without a rename
empties the live log. Append mode ("a") never loses a line.
"""

from unicorn.labs.broken.lab11._plain import PlainLogFile

REPLACES = "logfile"
CAUGHT_BY = ("test_11b_reopen_without_rename_appends",)


class LogFile(PlainLogFile):
    def reopen(self) -> None:
        try:
            new = open(self.path, "w")  # the mistake: "w" truncates, "a" appends
        except OSError:
            return
        self.file, old = new, self.file
        old.close()
