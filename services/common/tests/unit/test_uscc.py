"""USCC validator against known valid and invalid codes (GB 32100-2015)."""

import pytest
from stc_common.uscc import UsccError, check_character, is_valid_uscc, make_uscc, validate_uscc

KNOWN_VALID = [
    "91350100M000100Y43",  # the standard's own worked example
    "91110000600037341L",
    "91110108551385082Q",
    "91440300708461136T",  # a listed Shenzhen company
]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_valid_codes(code):
    assert validate_uscc(code) == code


def test_lower_case_and_spaces_are_normalised():
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize("first17", ["A1110000MA0000001", "N2440300MA5F00000", "Y1110000MA0000002"])
def test_letters_allowed_in_positions_one_and_two(first17):
    code = make_uscc(first17)
    assert is_valid_uscc(code)
    assert code[:2] == first17[:2]


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M00O100Y43", "characters outside"),  # letter O is not in the charset
        ("913501I0M000100Y43", "characters outside"),
        ("9135A100M000100Y43", "administrative division"),
    ],
)
def test_invalid_codes_say_why(code, why):
    with pytest.raises(UsccError, match=why):
        validate_uscc(code)
    assert not is_valid_uscc(code)


def test_every_single_character_substitution_is_caught():
    code = "91350100M000100Y43"
    for i in range(18):
        for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if c == code[i]:
                continue
            mutated = code[:i] + c + code[i + 1 :]
            if i in range(2, 8) and not c.isdigit():
                assert not is_valid_uscc(mutated)
            else:
                assert not is_valid_uscc(mutated), mutated


def test_check_character_of_example():
    assert check_character("91350100M000100Y4") == "3"
