"""What every online payment gateway (VNPay, the national payment platform) offers the payment use cases.

A gateway builds the signed URL that sends the applicant to pay an order, verifies a callback and reads what it
says, asks the gateway what became of an order (reconciliation), and words the reply its callback protocol expects
for each outcome of settling it. The use cases see only these types; each gateway's wire format stays in its module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

# The values the use cases exchange with a gateway are the domain's (it settles them); re-exported for the adapters.
from chalicelib.domain.payments import GatewayName as GatewayName
from chalicelib.domain.payments import GatewayReport as GatewayReport
from chalicelib.domain.payments import Outcome as Outcome
from chalicelib.domain.payments import PaymentOrder as PaymentOrder
from chalicelib.domain.payments import SettleResult as SettleResult


class SignatureError(Exception):
    """A callback or answer whose signature does not verify (or that lacks one)."""


class MalformedCallbackError(Exception):
    """A callback signed correctly but missing or garbling a field we need."""


class PaymentGateway(Protocol):
    name: GatewayName

    def payment_url(self, order: PaymentOrder) -> str:
        """The URL to send the applicant's browser to, signed as the gateway requires."""
        ...

    def verify_callback(self, params: Mapping[str, str]) -> GatewayReport:
        """The callback's report, once its signature verifies (constant-time); raises `SignatureError` or
        `MalformedCallbackError`."""
        ...

    def reply(self, result: SettleResult) -> dict[str, Any]:
        """The JSON body the gateway's callback protocol expects for `result`."""
        ...

    def query(self, order: PaymentOrder, now: datetime) -> GatewayReport:
        """Ask the gateway what became of `order` (VNPay `querydr`, PayGov QUERY); its answer's signature is
        verified too. Raises `chalicelib.domain.errors.UpstreamUnavailableError` when the gateway cannot be reached."""
        ...
