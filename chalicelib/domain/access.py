"""The access policy: may this caller use this route, act on or read this dossier, read this agency's data.

One module answers every such question, so a rule is written once and tested as a table; routes and use cases
ask it and never compare role names themselves. Partner callbacks (signature-authenticated, not token-bearing)
will add their own callers here.
"""

from __future__ import annotations

from .catalogue import Agency
from .dossier import Dossier
from .errors import ForbiddenError
from .history import Actor
from .lifecycle import Action, actor_of
from .roles import APPLICANTS, Role

# Who may call which kind of route (the route names its policy; the policy names roles).
SUBMIT: tuple[str, ...] = (Role.CITIZEN, Role.ORGANISATION, Role.OFFICER)  # officers file at the desk for applicants
UPLOAD: tuple[str, ...] = SUBMIT
OWN_DOSSIERS: tuple[str, ...] = (Role.CITIZEN, Role.ORGANISATION)
AGENCY_DATA: tuple[str, ...] = (Role.OFFICER, Role.ADMIN)  # work queues and reports, scoped by `require_agency_scope`
READ_CALENDAR: tuple[str, ...] = (Role.ADMIN, Role.OFFICER)
ADMINISTER: tuple[str, ...] = (Role.ADMIN,)


def require_role(actor: Actor, roles: tuple[str, ...]) -> None:
    if actor.role not in roles:
        allowed = [str(getattr(role, "value", role)) for role in roles]
        raise ForbiddenError(
            f"Vai trò '{actor.role}' không được phép thực hiện thao tác này. (Allowed roles: {', '.join(allowed)}.)",
            code="ROLE_NOT_ALLOWED",
            details={"allowed_roles": allowed},
        )


def is_applicant(actor: Actor) -> bool:
    return actor.role in APPLICANTS


def is_officer(actor: Actor) -> bool:
    return actor.role == Role.OFFICER


def is_named_in_events(actor: Actor) -> bool:
    """Officers are named in the events (the notice names the officer: Decree 224/2026); an applicant's id and name
    are personal data and never published."""
    return is_officer(actor)


def writes_internal_notes(actor: Actor) -> bool:
    """Officers' notes on some steps are internal; applicants' notes never are."""
    return is_officer(actor)


def authorise_action(actor: Actor, dossier: Dossier, action: Action) -> None:
    """Applicants act on their own dossiers only; officers only on dossiers their agency holds; admins never act."""
    if actor_of(action).value == "applicant":
        if not is_applicant(actor):
            raise ForbiddenError(
                f"Chỉ người nộp hồ sơ được thực hiện '{action.slug}'. (Only the applicant may do this.)",
                code="APPLICANT_ACTION",
            )
        if actor.user_id != dossier.owner_id:
            raise ForbiddenError("Đây không phải hồ sơ của bạn. (Not your dossier.)", code="NOT_DOSSIER_OWNER")
        return
    if actor.role != Role.OFFICER:
        raise ForbiddenError(
            f"Chỉ cán bộ được thực hiện '{action.slug}'. (Only officers may do this.)", code="OFFICER_ACTION"
        )
    if actor.agency_code != dossier.agency_code:
        raise ForbiddenError(
            "Hồ sơ không thuộc cơ quan của bạn. (The dossier is held by another agency.)",
            code="AGENCY_OUT_OF_SCOPE",
            details={"holder_agency": dossier.agency_code},
        )


def authorise_online_payment(actor: Actor, dossier: Dossier) -> None:
    """The applicant pays their own dossier online."""
    if not is_applicant(actor):
        raise ForbiddenError("Chỉ người nộp hồ sơ được thanh toán trực tuyến. (Only the applicant pays online.)",
                             code="APPLICANT_ACTION")
    if actor.user_id != dossier.owner_id:
        raise ForbiddenError("Đây không phải hồ sơ của bạn. (Not your dossier.)", code="NOT_DOSSIER_OWNER")


def authorise_desk_payment(actor: Actor, dossier: Dossier) -> None:
    """An officer of the agency holding the dossier records money taken at its desk."""
    _require_holding_officer(actor, dossier,
                             "Chỉ cán bộ được ghi nhận thanh toán tại quầy. (Only officers record desk payments.)")


def _require_holding_officer(actor: Actor, dossier: Dossier, only_officers: str) -> None:
    if actor.role != Role.OFFICER:
        raise ForbiddenError(only_officers, code="OFFICER_ACTION")
    if actor.agency_code != dossier.agency_code:
        raise ForbiddenError("Hồ sơ không thuộc cơ quan của bạn. (The dossier is held by another agency.)",
                             code="AGENCY_OUT_OF_SCOPE", details={"holder_agency": dossier.agency_code})


def may_read(actor: Actor, dossier: Dossier) -> bool:
    """Its owner; officers of the agency holding it or above it; admins."""
    if is_applicant(actor):
        return dossier.owner_id == actor.user_id
    if actor.role == Role.OFFICER:
        return actor.agency_code is not None and actor.agency_code in dossier.agency_path
    return actor.role == Role.ADMIN


def require_agency_scope(actor: Actor, agency: Agency, what: tuple[str, str]) -> None:
    """Officers read their own agency and its subordinates; admins read all. `what` names what is read
    (Vietnamese, English)."""
    require_role(actor, AGENCY_DATA)
    if actor.role == Role.OFFICER and actor.agency_code not in agency.path:
        raise ForbiddenError(
            f"Cán bộ chỉ xem được {what[0]} của cơ quan mình. (Officers may read their own agency's {what[1]} only.)",
            code="AGENCY_OUT_OF_SCOPE",
        )


def sees_internal_notes(actor: Actor) -> bool:
    """Applicants do not see officers' internal notes, officers' ids or request ids in a dossier's history."""
    return not is_applicant(actor)


def authorise_postal_task(actor: Actor, dossier: Dossier) -> None:
    """An officer of the agency holding the dossier sees to its postal tasks (a failed or returned shipment)."""
    _require_holding_officer(actor, dossier, "Chỉ cán bộ được xử lý việc bưu chính. (Only officers see to postal tasks.)")
