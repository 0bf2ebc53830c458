"""ltsd: the Learning to See daemon."""

__version__ = "0.1.0"
