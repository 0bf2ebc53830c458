"""User-facing errors: one line that names the thing, printed by the CLI with exit code 2."""


class LtsdError(Exception):
    """A mistake a user can fix (a config key, a file, a source name); never a programming error."""


class ConfigError(LtsdError):
    """A bad configuration file, key, type or value."""


class ModelError(LtsdError):
    """A model file that is missing, corrupt or does not match its metadata."""


class SourceError(LtsdError):
    """A source spec that cannot be understood or opened."""


def first_line(error: BaseException) -> str:
    """An exception as one line for an error message: its first line, or its type's name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
