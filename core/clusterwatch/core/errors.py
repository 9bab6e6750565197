"""The error types shared by every part: one per kind of failure a user must act on."""

from __future__ import annotations


class ClusterwatchError(Exception):
    """Base of every error we raise on purpose; its text is meant for the user."""


class FetchError(ClusterwatchError):
    """Talking to a source failed: refused, timed out, an error status or a body we cannot use.

    ``target`` names what we talked to (a URL or host:port), ``status`` is the HTTP status when
    there was one, and ``reason`` a short human explanation (never a traceback).
    """

    def __init__(self, target: str, reason: str, status: int | None = None) -> None:
        self.target = target
        self.reason = reason
        self.status = status
        where = f"{target} (HTTP {status})" if status is not None else target
        super().__init__(f"{where}: {reason}")


class ConfigError(ClusterwatchError):
    """A configuration problem; ``problems`` lists every one found, each naming file and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
