"""The one error the link room raises for a store it cannot link or screen against."""


class LinkError(Exception):
    """Linkage cannot run on this store; the message says why (never a value)."""
