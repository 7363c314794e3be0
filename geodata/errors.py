"""Caller mistakes that name the field at fault, so every door can answer 400 {field: [message]}."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError(ValueError):
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
