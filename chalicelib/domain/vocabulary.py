"""The closed vocabularies of the domain: statuses, channels, online forms, with their national codes."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A dossier's status; `national_code` is the code synchronised with the national portal."""

    REGISTERED = "registered"
    RECEIVED = "received"
    NOT_RECEIVED = "not_received"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    AWAITING_FEES = "awaiting_fees"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    RESULT_READY = "result_ready"
    RESULT_RETURNED = "result_returned"

    @property
    def national_code(self) -> int:
        return _STATUS_CODES[self]


_STATUS_CODES: dict[Status, int] = {
    Status.REGISTERED: 1,
    Status.RECEIVED: 2,
    Status.NOT_RECEIVED: 3,
    Status.PROCESSING: 4,
    Status.SUPPLEMENT_REQUESTED: 5,
    Status.AWAITING_FEES: 6,
    Status.WITHDRAWN: 7,
    Status.STOPPED: 8,
    Status.RESULT_READY: 9,
    Status.RESULT_RETURNED: 10,
}


class Channel(str, Enum):
    """How a dossier reached the agency; targets count each separately."""

    ONLINE = "online"  # trực tuyến từ xa
    ONLINE_ASSISTED = "online_assisted"  # filed online with help at a desk
    DIRECT = "direct"  # paper, in person at a desk
    POSTAL = "postal"  # sent through the public postal service

    @property
    def national_code(self) -> int:
        """`KenhThucHien`: 1 in person, 2 online, 3 public postal service."""
        return {Channel.DIRECT: 1, Channel.POSTAL: 3}.get(self, 2)

    @property
    def is_online(self) -> bool:
        return self in (Channel.ONLINE, Channel.ONLINE_ASSISTED)


class OnlineForm(str, Enum):
    """How far a procedure is offered online."""

    FULL = "full"  # toàn trình (formerly level 4)
    PARTIAL = "partial"  # một phần (formerly level 3)
    NONE = "none"

    @property
    def national_level(self) -> int:
        """`mucDo` as the sync systems use it: 4 full, 3 partial, 2 public service only."""
        return {OnlineForm.FULL: 4, OnlineForm.PARTIAL: 3}.get(self, 2)


class ApplicantKind(str, Enum):
    """Who files a dossier. A dossier is *internal* by who files it: a state administrative body, a public-service
    unit, a political-social organisation or a state-owned enterprise (Quảng Nam's directive, 13 Sep 2021)."""

    CITIZEN = "citizen"
    BUSINESS = "business"
    STATE_BODY = "state_body"  # cơ quan hành chính nhà nước; the value stored dossiers already carry
    PUBLIC_SERVICE_UNIT = "public_service_unit"  # đơn vị sự nghiệp công lập
    POLITICAL_SOCIAL_ORGANISATION = "political_social_organisation"  # tổ chức chính trị - xã hội
    STATE_OWNED_ENTERPRISE = "state_owned_enterprise"  # doanh nghiệp nhà nước

    @property
    def files_internal_dossiers(self) -> bool:
        return self in INTERNAL_FILERS


INTERNAL_FILERS: frozenset[ApplicantKind] = frozenset({
    ApplicantKind.STATE_BODY,
    ApplicantKind.PUBLIC_SERVICE_UNIT,
    ApplicantKind.POLITICAL_SOCIAL_ORGANISATION,
    ApplicantKind.STATE_OWNED_ENTERPRISE,
})


class Rating(str, Enum):
    """An applicant's rating of how their dossier was handled."""

    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"


class ResultDelivery(str, Enum):
    ONLINE = "online"
    DESK = "desk"
    POST = "post"


class AgencyLevel(str, Enum):
    """Competent level; the district level exists only in three-tier data from before July 2025."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
