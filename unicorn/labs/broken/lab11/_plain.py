"""The base of lab 11's broken log files: a plain LogFile, right except for reopen().

Each variant fills in reopen() with one classic mistake; the rest is as a student would write
it, so the tests that catch a variant catch it for that one mistake.
"""


class PlainLogFile:
    def __init__(self, path: str) -> None:
        self.path = path
        self.file = open(path, "a")

    def write(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()

    def reopen(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.file.close()
