"""Read use cases: a dossier for whoever may see it, an applicant's own dossiers, the KPI report."""

from __future__ import annotations

from typing import Any

from chalicelib.auth import require_role
from chalicelib.domain.catalogue import Agency
from chalicelib.domain.counting import agency_scope
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.errors import ForbiddenError, NotFoundError, ValidationError
from chalicelib.domain.history import Actor
from chalicelib.domain.kpi import filing_figures, months_of_period
from chalicelib.services.views import dossier_view
from chalicelib.store import dossiers as dossier_items
from chalicelib.store.catalogue import CatalogueRepository
from chalicelib.store.counters import CounterStore


def _not_found(dossier_id: str) -> NotFoundError:
    return NotFoundError(f"Không tìm thấy hồ sơ {dossier_id}. (Dossier not found.)", code="DOSSIER_NOT_FOUND")


def can_read(actor: Actor, dossier: Dossier) -> bool:
    if actor.is_applicant:
        return dossier.owner_id == actor.user_id
    if actor.role == "officer":
        return actor.agency_code is not None and actor.agency_code in dossier.agency_path
    return actor.role == "admin"


def get_dossier(dossier_id: str, actor: Actor) -> dict[str, Any]:
    """Applicants see only their own; a dossier they may not see answers 404, so ids cannot be probed."""
    dossier = dossier_items.get(dossier_id)
    if dossier is None or not can_read(actor, dossier):
        raise _not_found(dossier_id)
    return dossier_view(dossier)


def _is_owner_cursor(cursor: dict[str, Any], owner_id: str) -> bool:
    """A cursor is the index's last key: exactly these string attributes, and the caller's own."""
    if set(cursor) != {"pk", "sk", "owner_id", "submitted_at"}:
        return False
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in cursor.values()):
        return False
    return bool(cursor["owner_id"]["S"] == owner_id)


def list_my_dossiers(actor: Actor, limit: int, cursor: dict[str, str] | None) -> tuple[list[dict[str, Any]], Any]:
    require_role(actor, "citizen", "organisation")
    if cursor is not None and not _is_owner_cursor(cursor, actor.user_id):
        raise ValidationError("Con trỏ phân trang không hợp lệ. (Invalid cursor.)", code="CURSOR_INVALID")
    page, next_cursor = dossier_items.list_for_owner(actor.user_id, limit, cursor)
    return [dossier_view(d) for d in page], next_cursor


def _check_scope(actor: Actor, agency: Agency) -> None:
    require_role(actor, "officer", "admin")
    if actor.role == "officer" and actor.agency_code not in agency.path:
        raise ForbiddenError(
            "Cán bộ chỉ xem được báo cáo của cơ quan mình. (Officers may read their own agency's reports only.)",
            code="AGENCY_OUT_OF_SCOPE",
        )


def kpi_report(agency_code: str, period: str, actor: Actor, catalogue: CatalogueRepository) -> dict[str, Any]:
    try:
        months = months_of_period(period)
    except ValueError as exc:
        raise ValidationError(
            "Kỳ báo cáo phải có dạng YYYY-MM hoặc YYYY-Qn. (period must be YYYY-MM or YYYY-Qn.)",
            code="PERIOD_INVALID",
        ) from exc
    agency = catalogue.agency(agency_code)
    _check_scope(actor, agency)
    figures = filing_figures(CounterStore.read(agency_scope(agency.code), months))
    return {
        "agency": {"code": agency.code, "name": agency.name, "level": agency.level.value},
        "period": period,
        "months": months,
        "filed": {
            "total": figures.total,
            "by_channel": figures.by_channel,
            "by_online_form": figures.by_online_form,
        },
        "online_share": figures.online_share.as_dict(),
        "online_any_share": figures.online_any_share.as_dict(),
    }
