"""Check-digit validators for the two identifiers an application turns on.

- Unified social credit code (统一社会信用代码, GB 32100-2015): identifies the applicant
  (Art. 5(5), 7(1)).
- IMO ship number: identifies each bunker tanker (Art. 5(1), 7(3)).

Validation errors are raised as `ValueError` with a bilingual message, because pydantic
surfaces that message to the applicant at the field that failed.
"""

from __future__ import annotations

import re

# GB 32100-2015 §4: the code alphabet omits I, O, Z, S, V to avoid confusion with digits.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015 §5: weight of position i (0-based) is 3**i mod 31.
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
CREDIT_CODE_LENGTH = 18

_CHAR_VALUE = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}


def credit_code_check_char(first17: str) -> str:
    """The 18th character for a 17-character code body (GB 32100-2015 §5)."""
    if len(first17) != CREDIT_CODE_LENGTH - 1:
        raise ValueError(f"credit code body must be 17 characters, got {len(first17)}")
    bad = sorted({c for c in first17 if c not in _CHAR_VALUE})
    if bad:
        raise ValueError(f"characters outside the GB 32100 charset: {''.join(bad)}")
    total = sum(_CHAR_VALUE[c] * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(s: str) -> bool:
    """True iff `s` is exactly an 18-character code with a correct check character.

    Strict: no trimming or case folding here; `validate_credit_code` normalises input.
    Only the overall check character is verified, not the embedded organisation code's
    own GB 11714 check digit, nor the registration-authority and region prefixes.
    """
    if len(s) != CREDIT_CODE_LENGTH or any(c not in _CHAR_VALUE for c in s):
        return False
    return credit_code_check_char(s[:17]) == s[17]


def validate_credit_code(s: str) -> str:
    """Canonical (trimmed, upper-case) code, or ValueError with a bilingual reason."""
    code = s.strip().upper()
    if len(code) != CREDIT_CODE_LENGTH:
        raise ValueError(
            f"统一社会信用代码应为18位，实为{len(code)}位 / "
            f"unified social credit code must have 18 characters, got {len(code)}"
        )
    bad = "".join(sorted({c for c in code if c not in _CHAR_VALUE}))
    if bad:
        raise ValueError(
            f"统一社会信用代码含有非法字符：{bad} / "
            f"unified social credit code contains characters not allowed by GB 32100: {bad}"
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise ValueError(
            f"统一社会信用代码校验码错误：应为{expected}，实为{code[17]} / "
            f"unified social credit code check character is {code[17]}, expected {expected}"
        )
    return code


def make_credit_code(first17: str) -> str:
    """A valid code from a 17-character body; for fixtures and tests."""
    return first17 + credit_code_check_char(first17)


# IMO numbers: canonical form is "IMO" + 7 digits, no space (e.g. "IMO9074729"), the
# form printed on IMO certificates; inputs may omit the prefix or put a space after it.
_IMO_INPUT = re.compile(r"^(?:IMO ?)?([0-9]{7})$", re.IGNORECASE)


def imo_check_digit(first6: str) -> str:
    """Seventh digit: sum of the first six digits weighted 7..2, modulo 10."""
    if len(first6) != 6 or not first6.isascii() or not first6.isdigit():
        raise ValueError(f"IMO number body must be 6 digits, got {first6!r}")
    return str(sum(int(d) * w for d, w in zip(first6, range(7, 1, -1))) % 10)


def normalise_imo(s: str) -> str:
    """Canonical "IMO1234567", or ValueError with a bilingual reason."""
    m = _IMO_INPUT.match(s.strip())
    if m is None:
        raise ValueError(
            f"IMO船舶识别号格式错误：{s!r}（应为IMO加7位数字） / "
            f"IMO number {s!r} is not 'IMO' followed by 7 digits"
        )
    digits = m.group(1)
    expected = imo_check_digit(digits[:6])
    if digits[6] != expected:
        raise ValueError(
            f"IMO船舶识别号校验位错误：应为{expected}，实为{digits[6]} / "
            f"IMO number check digit is {digits[6]}, expected {expected}"
        )
    return "IMO" + digits


def is_valid_imo(s: str) -> bool:
    """True iff `s` (with or without the "IMO" prefix) has a correct check digit."""
    try:
        normalise_imo(s)
    except ValueError:
        return False
    return True


def make_imo(first6: str) -> str:
    """A valid canonical IMO number from 6 digits; for fixtures and tests."""
    return "IMO" + first6 + imo_check_digit(first6)
