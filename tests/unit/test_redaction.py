"""Personal data never reaches a log line: national ID numbers, phone numbers and emails as Vietnamese write them."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.redaction import EMAIL_MASK, FIELD_MASK, NATIONAL_ID_MASK, PHONE_MASK, mask, mask_text

MASKED = [
    # national ID numbers: CCCD (12 digits, also in groups of three), old CMND (9)
    ("Công dân có CCCD số 046190000123 nộp hồ sơ", f"Công dân có CCCD số {NATIONAL_ID_MASK} nộp hồ sơ"),
    ("CCCD: 001 203 004 567.", f"CCCD: {NATIONAL_ID_MASK}."),
    ("CMND 012345678, cấp ngày 01/02/2010", f"CMND {NATIONAL_ID_MASK}, cấp ngày 01/02/2010"),
    ("national_id=079088001234&x=1", f"national_id={NATIONAL_ID_MASK}&x=1"),
    # mobile numbers (03x, 05x, 07x, 08x, 09x) and landlines (02xx), with the usual separators and prefixes
    ("Liên hệ: 0912345678", f"Liên hệ: {PHONE_MASK}"),
    ("ĐT 0912 345 678 (anh Bình)", f"ĐT {PHONE_MASK} (anh Bình)"),
    ("SĐT 0905.123.456", f"SĐT {PHONE_MASK}"),
    ("gọi 0386-555-012 hoặc 0703 123 456", f"gọi {PHONE_MASK} hoặc {PHONE_MASK}"),
    ("+84912345678 đã nhận OTP", f"{PHONE_MASK} đã nhận OTP"),
    ("+84 912 345 678", PHONE_MASK),
    ("(+84) 91-234-5678", PHONE_MASK),
    ("số 84912345678", f"số {PHONE_MASK}"),
    ("máy bàn 0234 3823 456 (UBND)", f"máy bàn {PHONE_MASK} (UBND)"),
    ("máy bàn 02343823456", f"máy bàn {PHONE_MASK}"),
    # email addresses, with Vietnamese text around them
    ("Gửi tới hoa.nguyen@gmail.com lúc 8 giờ", f"Gửi tới {EMAIL_MASK} lúc 8 giờ"),
    ("<tran_van.binh+dvc@hue.gov.vn>", f"<{EMAIL_MASK}>"),
    # all at once, as a careless message would have them
    ("Nguyễn Thị Hoà (046190000123, 0912345678, hoa@example.vn)",
     f"Nguyễn Thị Hoà ({NATIONAL_ID_MASK}, {PHONE_MASK}, {EMAIL_MASK})"),
]

KEPT = [
    "H46.C19900-251126-0001",  # a dossier code: its digit runs are 6 and 4 long
    "H46.00-251126-0012",
    "1.001193",  # a procedure code
    "2026-11-26T02:31:35Z",
    "lệ phí 150.000 đồng",  # amounts as Vietnamese write them (dot-grouped) are no IDs
    "lệ phí 1.500.000.000 đồng",
    "1-5759e988-bd862e3fe1be46a994272793",  # an X-Ray trace id: digit runs glued to letters
    "c0a8e6f0-7d1b-4b57-9e1c-3f2b1a0c9d8e",
    "c0a8e6f0-7d1b-4b57-9e1c-123456789012",  # a UUID whose last group is all digits (AWS request ids)
    "a0a8e6f0-7d1b-4b57-9e1c-849123456789",
    "019ac0b3f1e2046190000123a1b2c3d4e5f6",  # our ids: hex, the digit runs glued to letters
    "epoch 1764124295",  # 10 digits, no 0 or 84 in front
    "batch of 100 records, 3 failed",
    "0123",
    "+8491*****78", "h***@example.vn",  # the notifications' own masked recipients: already safe, kept readable
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_in_text_is_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_what_is_not_personal_data_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_fields_that_hold_personal_data_are_replaced_whatever_they_hold() -> None:
    line: dict[str, Any] = {
        "message": "applicant 0912345678",
        "applicant": {"kind": "citizen", "Name": "Trần Văn Bình", "national_id": "046090001234", "address": ""},
        "recipients": [{"email": "binh@example.vn"}, "0905123456"],
        "amount": 150000000,  # a number is never masked, whatever its digits
        "ok": True,
        "error": ValueError("CCCD 046090001234 đã tồn tại"),  # written as its text: masked as text
        "correlation_id": "0912345678",
    }
    assert mask(line, keep=frozenset({"correlation_id"})) == {
        "message": f"applicant {PHONE_MASK}",
        "applicant": {"kind": "citizen", "Name": FIELD_MASK, "national_id": FIELD_MASK, "address": ""},
        "recipients": [{"email": FIELD_MASK}, PHONE_MASK],
        "amount": 150000000,
        "ok": True,
        "error": f"CCCD {NATIONAL_ID_MASK} đã tồn tại",
        "correlation_id": "0912345678",  # kept keys are the logger's own, left exactly as they are
    }
