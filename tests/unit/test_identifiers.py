import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.identifiers import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_WEIGHTS,
    credit_code_check_char,
    is_valid_credit_code,
    is_valid_imo,
    make_credit_code,
    make_imo,
    normalise_imo,
    validate_credit_code,
)

credit_bodies = st.text(alphabet=CREDIT_CODE_CHARSET, min_size=17, max_size=17)
imo_bodies = st.text(alphabet="0123456789", min_size=6, max_size=6)


def test_weights_are_powers_of_three_mod_31_as_gb_32100_says():
    assert list(CREDIT_CODE_WEIGHTS) == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216", "9144030071526726XG"])
def test_published_credit_codes_validate(code):
    assert is_valid_credit_code(code)


def test_check_char_is_zero_when_the_weighted_sum_is_a_multiple_of_31():
    # The outer "% 31" maps 31 - 0 back into the charset.
    assert credit_code_check_char("91440300715267263") == "0"
    assert credit_code_check_char("9144030071526726X") == "G"


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check char
        "91350100M000100Y4",  # 17 chars
        "91350100M000100Y433",  # 19 chars
        "91350100I000100Y43",  # I is not in the charset
        "91350100m000100y43",  # strict about case
    ],
)
def test_malformed_credit_codes_are_refused(code):
    assert not is_valid_credit_code(code)


def test_validate_credit_code_normalises_case_and_spaces():
    assert validate_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


def test_validate_credit_code_explains_the_expected_check_char_in_both_languages():
    with pytest.raises(ValueError, match="应为3.*expected 3"):
        validate_credit_code("91350100M000100Y44")


@given(credit_bodies)
def test_any_body_with_its_computed_check_char_validates(body):
    code = make_credit_code(body)
    assert len(code) == 18 and is_valid_credit_code(code)


@given(credit_bodies, st.integers(0, 17), st.integers(1, 30))
def test_changing_any_one_character_breaks_the_code(body, position, shift):
    # Weights are non-zero mod the prime 31, so any single substitution changes the sum.
    code = make_credit_code(body)
    replaced = CREDIT_CODE_CHARSET[(CREDIT_CODE_CHARSET.index(code[position]) + shift) % 31]
    assert not is_valid_credit_code(code[:position] + replaced + code[position + 1 :])


def test_published_imo_number_validates_in_any_accepted_form():
    for form in ("IMO9074729", "IMO 9074729", "imo9074729", "9074729", " 9074729 "):
        assert is_valid_imo(form)
        assert normalise_imo(form) == "IMO9074729"


@pytest.mark.parametrize("imo", ["IMO9074728", "IMO907472", "IMO90747290", "IMO-9074729", "ABC9074729", "９０７４７２９"])
def test_malformed_imo_numbers_are_refused(imo):
    assert not is_valid_imo(imo)


def test_normalise_imo_explains_the_expected_check_digit_in_both_languages():
    with pytest.raises(ValueError, match="应为9.*expected 9"):
        normalise_imo("IMO9074728")


@given(imo_bodies)
def test_any_six_digits_with_computed_check_digit_is_a_canonical_imo(body):
    imo = make_imo(body)
    assert imo.startswith("IMO") and len(imo) == 10
    assert is_valid_imo(imo) and normalise_imo(imo) == imo
    assert normalise_imo(imo[3:]) == imo  # the bare digits name the same ship


@given(imo_bodies, st.integers(0, 9))
def test_a_wrong_check_digit_is_refused(body, digit):
    imo = make_imo(body)
    if str(digit) != imo[-1]:
        assert not is_valid_imo(imo[:-1] + str(digit))
