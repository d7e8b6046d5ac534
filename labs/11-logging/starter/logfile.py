"""Lab 11b and 11c: a log file that follows its name when asked to (USR1, after logrotate).

Keep the interface; write the bodies that raise NotImplementedError.
server.py, written for you, writes one line per request through a LogFile and calls reopen()
when it receives SIGUSR1. Read labs/11-logging/README.md first.
Run: python -m unicorn.labs check 11 --part b
"""


class LogFile:
    """One log file, open for appending, written one whole line at a time."""

    def __init__(self, path: str) -> None:
        """Open `path` for appending (create it if needed): earlier lines stay."""
        raise NotImplementedError("Lab 11b: open the file in append mode, keep the path")

    def write(self, line: str) -> None:
        """Append `line` and a newline, and flush: another process may be reading the file."""
        raise NotImplementedError("Lab 11b: write the line and a newline, flush")

    def reopen(self) -> None:
        """Open the path again, so that the next lines go to whatever file has that name now.

        If the path cannot be opened, keep writing to the file already open, print one line
        "Cannot reopen PATH: REASON" on standard error, and return: never raise.
        """
        raise NotImplementedError("Lab 11b: open the path anew, then close the old file; "
                                  "11c: if the open fails, keep the old one")

    def close(self) -> None:
        raise NotImplementedError("Lab 11b: close the file")
