"""Errors every door turns into one clear message."""

from __future__ import annotations


class ValidationError(Exception):
    """Input that cannot be used; ``errors`` maps each bad field to a message for its form."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors
