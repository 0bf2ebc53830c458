"""User-facing errors: one line that names the thing, printed by the CLI with exit code 2."""

import reprlib
import sys
from collections.abc import Callable

SHOWN_CHARACTERS = 80  # the most of a user's value an error message quotes
_BOUNDED = reprlib.Repr()
_BOUNDED.maxlevel = 2
_BOUNDED.maxdict = _BOUNDED.maxlist = _BOUNDED.maxtuple = _BOUNDED.maxset = 4
_BOUNDED.maxstring = _BOUNDED.maxother = SHOWN_CHARACTERS


EXIT_USER_ERROR = 2


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


def shown(value: object) -> str:
    """A value for an error message: its repr, cut to SHOWN_CHARACTERS, at a cost bounded by that
    too (a YAML alias bomb or a 100 MB string is never formatted whole)."""
    text = _BOUNDED.repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


def run_command(main: Callable[[], object], program: str) -> None:
    """Run a command-line entry point (`python -m …`) as `ltsd` runs its own: a user's mistake is
    one line on stderr naming the thing, and exit code 2, not a traceback."""
    try:
        main()
    except LtsdError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None
