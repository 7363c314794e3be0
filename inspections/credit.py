"""统一社会信用代码 (unified social credit code), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without I, O, S, V, Z):
registration authority (1) + organisation type (1) + administrative division (6) + organisation
body code (9) + check character (1). The check character is

    C18 = 31 − (Σ Ci·Wi  mod 31),  Wi = 3^(i−1) mod 31
        = 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28

with 31 written as 0. Only the alphabet, the length and the check character are checked here: the
authority and type codes change with regulations, and a wrong one is a data-quality matter, not an
invalid code.
"""

from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def credit_code_check_char(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the alphabet)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid credit code, or None. Expects it upper-cased and stripped."""
    if len(code) != LENGTH:
        return _("统一社会信用代码应为 18 位，收到 %(n)d 位。") % {"n": len(code)}
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return _("统一社会信用代码含有不允许的字符：%(chars)s。") % {"chars": "".join(bad)}
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return _("统一社会信用代码校验位错误：应为 %(expected)s，收到 %(got)s。") % {
            "expected": expected,
            "got": code[17],
        }
    return None


def credit_code_normalise(raw) -> str:
    return str(raw or "").strip().upper().replace(" ", "")
