"""What goes wrong, and what the CLI makes of it (docs: runs.md#when-something-goes-wrong)."""


class BadInput(Exception):
    """A problem with the user's input: the CLI prints its message as one line and exits 2."""


class TrainingStopped(Exception):
    """Training could not go on (a non-finite loss): the CLI prints one line and exits 1."""


class WriteFailed(Exception):
    """A file of the run could not be written (disk full, read-only): the CLI prints one line and exits 1."""
