"""NIK validation (pure)."""

import pytest

from db.nik import nik_hash, nik_last4, nik_problem


@pytest.mark.parametrize("nik", ["3471015708900001", "3471011203850002", "1101012902000001"])
def test_plausible(nik: str) -> None:
    assert nik_problem(nik) is None


@pytest.mark.parametrize("nik,reason", [
    ("347101570890001", "16 digits"), ("34710157089000a1", "16 digits"), ("0071015708900001", "province"),
    ("3400015708900001", "zero regency"), ("3471013213900001", "not a date"), ("3471017313900001", "not a date"),
    ("3471015708900000", "0000"),
])
def test_implausible(nik: str, reason: str) -> None:
    assert reason in (nik_problem(nik) or "")


def test_hash_is_keyed_and_last4() -> None:
    assert nik_hash("3471015708900001", b"a") != nik_hash("3471015708900001", b"b")
    assert len(nik_hash("3471015708900001", b"a")) == 32
    assert nik_last4("3471015708900001") == "0001"


def test_digits_are_normalised_or_refused() -> None:
    plain = "3471015708900001"
    fullwidth = plain[:6] + plain[6:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    bold = plain.translate(str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"))  # NFKC folds these to 0-9 too
    for same in (fullwidth, bold):
        assert nik_problem(same) is None
        assert nik_hash(same, b"k") == nik_hash(plain, b"k") and nik_last4(same) == "0001"
    for digits in ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯"):
        other = plain[:2] + plain[2:].translate(str.maketrans("0123456789", digits))
        assert "0-9" in (nik_problem(other) or ""), other
