"""What callers see of a dossier: the applicant's and officers' view, shaped as `dossier.v1.json`."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.calendar import VN_TZ
from chalicelib.domain.dossier import Dossier
from chalicelib.domain.events import iso_utc


def dossier_view(dossier: Dossier) -> dict[str, Any]:
    return {
        "id": dossier.id,
        "code": dossier.code,
        "procedure": {"code": dossier.procedure_code, "name": dossier.procedure_name},
        "agency_code": dossier.agency_code,
        "channel": dossier.channel.value,
        "channel_code": dossier.channel.national_code,
        "online_form": dossier.online_form.value,
        "status": dossier.status.value,
        "status_code": dossier.status.national_code,
        "submitted_at": iso_utc(dossier.submitted_at),
        "appointment_at": iso_utc(dossier.appointment_at),
        "appointment_date": dossier.appointment_at.astimezone(VN_TZ).date().isoformat(),
        "result_delivery": dossier.result_delivery.value,
        "fees_total": dossier.fees_total,
        "applicant": {
            "kind": dossier.applicant.kind.value,
            "name": dossier.applicant.name,
            "national_id": dossier.applicant.national_id,
            "phone": dossier.applicant.phone,
            "email": dossier.applicant.email,
        },
        "documents": [{"type": d.type, "name": d.name} for d in dossier.documents],
        "version": dossier.version,
    }
