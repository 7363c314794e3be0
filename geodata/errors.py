"""Caller mistakes that name the field at fault, so every door can answer 400 {field: [message]}."""

from dataclasses import dataclass


# Not frozen: Python itself sets attributes on an exception in flight (`__traceback__`, when it
# leaves a `with` block of a @contextmanager), and a frozen dataclass refused that with
# FrozenInstanceError in place of the caller's 400. eq=False keeps exceptions' identity semantics.
@dataclass(eq=False)
class FieldError(ValueError):
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
