"""VNPay 2.1.0's signing, written again from VNPay's documentation alone, so tests sign and check IPNs with an
implementation that shares no code with `chalicelib.integrations.vnpay`.

Sources:
- https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html, the PHP sample (vnpay_create_payment.php,
  vnpay_ipn.php): keep the `vnp_` parameters, drop `vnp_SecureHash` (and `vnp_SecureHashType`), `ksort`, then
  `urlencode($key) . "=" . urlencode($value)` joined with `&`, and `hash_hmac('sha512', $hashdata, $vnp_HashSecret)`.
  PHP's `urlencode` leaves letters, digits and `-_.` as they are, writes a space as `+` and every other byte of the
  UTF-8 text as `%XX` in upper case.
- https://sandbox.vnpayment.vn/apis/docs/chuyen-doi-thuat-toan/changeTypeHash.html: version 2.1.0 uses HMAC-SHA512
  and sends no `vnp_SecureHashType`.
- https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html: querydr's checksum is HMAC-SHA512 of
  the field values joined with `|` in the order the page lists (`QUERYDR_REQUEST_ORDER`, `QUERYDR_RESPONSE_ORDER`).
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping

_KEPT_AS_IS = frozenset((string.ascii_letters + string.digits + "-_.").encode("ascii"))

QUERYDR_REQUEST_ORDER = ["vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
                         "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo"]
QUERYDR_RESPONSE_ORDER = ["vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
                          "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
                          "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode",
                          "vnp_PromotionAmount"]


def php_urlencode(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte in _KEPT_AS_IS:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append("%" + format(byte, "02X"))
    return "".join(out)


def hash_data(params: Mapping[str, str]) -> str:
    input_data = {key: value for key, value in params.items()
                  if key[:4] == "vnp_" and key not in ("vnp_SecureHash", "vnp_SecureHashType")}
    pieces = []
    for key in sorted(input_data, key=lambda k: k.encode("utf-8")):  # ksort compares the keys' bytes
        pieces.append(php_urlencode(key) + "=" + php_urlencode(input_data[key]))
    return "&".join(pieces)


def secure_hash(params: Mapping[str, str], secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), hash_data(params).encode("utf-8"), hashlib.sha512).hexdigest()


def signed(params: Mapping[str, str], secret: str) -> dict[str, str]:
    """`params` with the `vnp_SecureHash` VNPay would add to an IPN or a return URL."""
    return {**params, "vnp_SecureHash": secure_hash(params, secret)}


def pipe_hash(values: Mapping[str, str], order: list[str], secret: str) -> str:
    data = "|".join(values.get(name, "") for name in order)
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()
