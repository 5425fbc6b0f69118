"""What goes wrong because of what the user gave us (docs: cli.md#errors)."""


class BadInput(Exception):
    """A problem with the user's input: the CLI prints its message as one line and exits 2."""


class TrainingStopped(Exception):
    """Training could not go on (a non-finite loss): the CLI prints one line and exits 1."""
