"""geodata/errors.py: a caller's mistake stays itself on its way out, whatever it passes through."""

import contextlib

import pytest

from geodata.errors import FieldError
from gridops.services.reports import IdempotencyConflict


@contextlib.contextmanager
def _around():
    yield


@pytest.mark.parametrize(
    "error", [FieldError("lon", "经度超出范围。"), IdempotencyConflict("client_uuid", "已用")]
)
def test_a_field_error_leaves_a_contextmanager_block_as_itself(error):
    # Leaving the block sets the exception's __traceback__; a frozen dataclass refused that and the
    # caller got FrozenInstanceError (a 500) in place of its 400.
    with pytest.raises(type(error)) as raised:
        with _around():
            raise error
    assert raised.value is error and raised.value.field == error.field and str(error).startswith(error.field)
    assert {error: 1}[error] == 1  # still hashable, by identity, like every exception
