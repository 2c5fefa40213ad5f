"""Personal data: validated, encrypted, hashed for look-up and masked on display, the same for every
app (the storage in real tables is tested with the models that hold it)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError

from common import pii


def valid_id_number(region: str, birth: str, serial: str) -> str:
    first17 = f"{region}{birth}{serial}"
    return first17 + pii.id_check_character(first17)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's own example, check character X
        valid_id_number("110101", "19900307", "123"),
        valid_id_number("310104", "19851120", "456"),
    ],
)
def test_valid_id_numbers_pass(number):
    assert pii.validate_id_number(number) == number


def test_check_character_follows_iso_7064_mod_11_2():
    # Hand-checked: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over 11010519491231002 sum to 167;
    # 167 mod 11 = 2, which maps to X.
    assert pii.id_check_character("11010519491231002") == "X"


def test_lower_case_x_and_spaces_are_normalised():
    assert pii.validate_id_number(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "id_checksum"),  # last character wrong
        ("11010519491231002", "id_format"),  # 17 characters
        ("1101051949123100XX", "id_format"),
        ("110105194913310025", "id_birth"),  # month 13
        ("110105202902300021", "id_birth"),  # 30 February
    ],
)
def test_invalid_id_numbers_are_refused_with_a_reason(number, code):
    with pytest.raises(ValidationError) as excinfo:
        pii.validate_id_number(number)
    assert excinfo.value.code == code


# A real county code in every province-level region (the capital's first district, or the region's
# own code where the permits carry one).
REAL_REGION_OF_PROVINCE = {
    "11": "110101", "12": "120101", "13": "130102", "14": "140105", "15": "150102", "21": "210102",
    "22": "220102", "23": "230102", "31": "310101", "32": "320102", "33": "330102", "34": "340102",
    "35": "350102", "36": "360102", "37": "370102", "41": "410102", "42": "420102", "43": "430102",
    "44": "440103", "45": "450102", "46": "460105", "50": "500101", "51": "510104", "52": "520102",
    "53": "530102", "54": "540102", "61": "610102", "62": "620102", "63": "630102", "64": "640104",
    "65": "650102", "71": "710000", "81": "810000", "82": "820000", "83": "830000",
}  # fmt: skip


@pytest.mark.parametrize("region", sorted(REAL_REGION_OF_PROVINCE.values()))
def test_numbers_of_every_province_pass(region):
    number = valid_id_number(region, "19861004", "135")
    assert pii.validate_id_number(number) == number


def test_every_province_code_has_a_real_number_above():
    assert set(REAL_REGION_OF_PROVINCE) == pii.ID_PROVINCE_CODES


@pytest.mark.parametrize(
    ("region", "birth"),
    [
        ("110103", "19750612"),  # 崇文区, merged into 东城区 in 2010: its numbers stay valid for life
        ("110104", "19680203"),  # 宣武区, likewise
        ("110112", "19840505"),  # 通州区 since 1997, carried by someone born before it existed
    ],
)
def test_codes_of_abolished_or_newer_counties_still_pass(region, birth):
    number = valid_id_number(region, birth, "217")
    assert pii.validate_id_number(number) == number


@pytest.mark.parametrize("region", ["001234", "990101", "100101", "720000"])
def test_a_number_with_a_right_check_digit_but_no_province_is_refused(region):
    number = valid_id_number(region, "19900307", "123")
    with pytest.raises(ValidationError) as excinfo:
        pii.validate_id_number(number)
    assert excinfo.value.code == "id_region"
    assert "province" in excinfo.value.messages[0]


def test_the_province_message_reads_in_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as excinfo:
            pii.validate_id_number(valid_id_number("990101", "19900307", "123"))
        assert excinfo.value.messages == [
            "该身份证号码的前两位不是中国省级行政区的代码，请按您身份证上的号码填写。"
        ]


def test_random_numbers_pass_only_with_a_province_code():
    # The measure: random numbers given a right check digit used to pass whatever their region.
    import random

    rng = random.Random(15)
    passed = refused = 0
    for _ in range(2_000):
        region = f"{rng.randint(0, 999_999):06d}"
        number = valid_id_number(region, "19900307", f"{rng.randint(0, 999):03d}")
        try:
            pii.validate_id_number(number)
        except ValidationError:
            refused += 1
            assert region[:2] not in pii.ID_PROVINCE_CODES
        else:
            passed += 1
            assert region[:2] in pii.ID_PROVINCE_CODES
    assert passed and refused


def test_birth_date_comes_from_the_id_number():
    import datetime as dt

    assert pii.birth_date_from_id("11010519491231002X") == dt.date(1949, 12, 31)


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678"])
def test_mobile_numbers_are_normalised(raw):
    assert pii.validate_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "023-12345678", ""])
def test_non_mobile_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        pii.validate_phone(raw)


def test_masking():
    assert pii.mask_id_number("11010519491231002X") == "110105********002X"
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_phone("") == ""
    assert pii.format_phone("13812345678") == "138 1234 5678"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张伟", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧***"),  # a compound family name keeps only its first character
        (" 李四 ", "李*"),  # stray spaces are not letters of the name
        ("", ""),
    ],
)
def test_a_name_shows_its_first_character_and_a_star_for_every_other(name, masked):
    # The /track/ answer and the back-office queue both show names this way.
    assert pii.mask_name(name) == masked


def test_an_encrypted_value_reads_back_and_holds_no_plaintext():
    token = pii.encrypt("13812345678")
    assert "13812345678" not in token
    assert pii.decrypt(token) == "13812345678"


def test_a_token_from_an_unknown_key_is_refused_with_a_clear_message():
    stranger = Fernet(Fernet.generate_key()).encrypt(b"13812345678").decode()
    with pytest.raises(ImproperlyConfigured, match="a key is missing"):
        pii.decrypt(stranger)


def test_changed_keys_are_used_at_once(settings):
    # The keys are cached per process; a settings change (a test, a rotation) must not leave the
    # old ones in use.
    before = pii.keyed_hash("13812345678")
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key]
    settings.PII_HASH_KEY = "another-hash-key"
    assert pii.keyed_hash("13812345678") != before
    assert Fernet(new_key.encode()).decrypt(pii.encrypt("13812345678").encode()) == b"13812345678"


def test_the_keyed_hash_finds_the_same_number_and_only_it():
    assert pii.keyed_hash("13812345678") == pii.keyed_hash("13812345678")
    assert pii.keyed_hash("13812345678") != pii.keyed_hash("13812345679")
