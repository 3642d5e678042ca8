"""Notice templates as data (`chalicelib/templates/notifications.v1.json`), the facts they name, and rendering per
channel, SMS segment counting (GSM-7) included. Transliteration (SMS without diacritics) is passed in: the domain
uses the standard library only, the caller hands it a maintained library's function (`anyascii`)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from .calendar import business_date
from .events import DomainEvent, DossierChanged
from .notifications import Channel, Rendered

TEMPLATES_FILE = Path(__file__).resolve().parents[1] / "templates" / "notifications.v1.json"
_FIELD = re.compile(r"\{([a-z_]+)\}")

# Clip lengths of the facts that come from people and the catalogue, so no notice can outgrow its budget: the
# template test renders every template with values this long.
CLIPS = {"agency": 60, "to_agency": 60, "officer": 40, "name": 80, "procedure": 120, "reason": 500, "missing": 500}

# GSM 03.38: the basic set (one septet each) and the extension table (an escape and a septet: two each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
SINGLE_SEGMENT, MULTI_SEGMENT = 160, 153  # septets: one message, or each part of a concatenated one (UDH takes 7)


def gsm7_septets(text: str) -> int | None:
    """Septets `text` takes in GSM-7, or None if a character is outside the alphabet (it would go as UCS-2)."""
    total = 0
    for char in text:
        if char in GSM7_BASIC:
            total += 1
        elif char in GSM7_EXTENDED:
            total += 2
        else:
            return None
    return total


def sms_segments(text: str) -> int | None:
    septets = gsm7_septets(text)
    if septets is None:
        return None
    return 1 if septets <= SINGLE_SEGMENT else -(-septets // MULTI_SEGMENT)


def to_gsm7(text: str, transliterate: Callable[[str], str]) -> str:
    """Vietnamese as SMS gateways want it: transliterated (`Đăng ký` → `Dang ky`), then anything still outside
    GSM-7's basic set dropped, whitespace collapsed."""
    plain = transliterate(text)
    return " ".join("".join(c if c in GSM7_BASIC and c not in "\r\n" else " " for c in plain).split())


@dataclass(frozen=True)
class Template:
    event_type: str
    version: int
    subject: str
    text: tuple[Any, ...]
    sms: tuple[Any, ...]
    sms_segments: int
    zns_template_id: str

    @property
    def ref(self) -> str:
        return f"{self.event_type}.v{self.version}"


@dataclass(frozen=True)
class TemplateBook:
    templates: dict[str, Template]
    layout_html: str
    zns_data: dict[str, str]  # ZNS parameter name → fact

    def for_event(self, event_type: str) -> Template | None:
        return self.templates.get(event_type)


@cache
def book() -> TemplateBook:
    raw = json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))
    templates = {
        name: Template(name, row["version"], row["subject"], tuple(row["text"]), tuple(row["sms"]), row["sms_segments"],
                       row["zns_template_id"])
        for name, row in raw["events"].items()
    }
    return TemplateBook(templates, raw["layout_html"], raw["zns_data"])


def fields_of(parts: Sequence[Any]) -> set[str]:
    found: set[str] = set()
    for part in parts:
        text = part if isinstance(part, str) else part["text"]
        found |= set(_FIELD.findall(text))
    return found


def fill(parts: Sequence[Any], facts: Mapping[str, str]) -> str:
    """The parts joined, each `{fact}` replaced; a conditional part only where its fact is known (non-empty)."""
    out = []
    for part in parts:
        if isinstance(part, dict):
            if not facts.get(part["if"]):
                continue
            part = part["text"]
        out.append(_FIELD.sub(lambda m: facts.get(m.group(1), ""), part))
    return "".join(out)


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    day = business_date(value) if isinstance(value, datetime) else value
    return day.strftime("%d/%m/%Y")


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


VIA_TEXT = {"desk": "nhận tại bộ phận một cửa", "post": "gửi qua dịch vụ bưu chính", "online": "trả trực tuyến"}


@dataclass(frozen=True)
class DossierFacts:
    """What a notice may say of the dossier, read from its item by the consumer (events carry no personal data)."""

    applicant_name: str
    procedure_name: str
    received_at: datetime | None
    appointment_at: datetime | None
    new_appointment_at: datetime | None


def facts(event: DomainEvent, dossier: DossierFacts, agency_name: str, other_agency_name: str, link: str) -> dict[str, str]:
    """The facts every template may name: the dossier's code, its agency, the officer who acted (officers only; an
    applicant's or the system's name is not an officer's), the event's date and the dossier's dates."""
    payload = event.payload
    officer = event.actor_name if isinstance(event, DossierChanged) and event.actor_role == "officer" else None
    values: dict[str, str] = {
        "code": event.dossier_code,
        "agency": agency_name,
        "to_agency": other_agency_name,
        "officer": officer or "",
        "date": _day(event.occurred_at),
        "received": _day(dossier.received_at or event.occurred_at),
        "appointment": _day(dossier.new_appointment_at or dossier.appointment_at),
        "new_appointment": _day(getattr(payload, "new_appointment_date", None) or dossier.new_appointment_at),
        "name": dossier.applicant_name,
        "procedure": dossier.procedure_name,
        "reason": str(getattr(payload, "reason", None) or ""),
        "missing": str(getattr(payload, "missing", None) or ""),
        "amount": money(int(getattr(payload, "amount", None) or getattr(payload, "fees_total", 0) or 0)),
        "via": VIA_TEXT.get(str(getattr(getattr(payload, "via", None), "value", getattr(payload, "via", ""))), ""),
        "payment_id": str(getattr(payload, "payment_id", "")),
        "link": link,
    }
    for name, limit in CLIPS.items():
        values[name] = _clip(values[name], limit, words=name not in ("reason", "missing"))
    return values


def _clip(text: str, limit: int, *, words: bool) -> str:
    """At most `limit` characters; a name is cut at a word boundary (and its spaces collapsed), free text as is."""
    if not words:
        return text[:limit]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit + 1].rsplit(" ", 1)[0][:limit].rstrip()


def render(template: Template, channel: Channel, values: Mapping[str, str], transliterate: Callable[[str], str],
           layout_html: str, zns_data: Mapping[str, str]) -> Rendered:
    subject = fill((template.subject,), values)
    text = fill(template.text, values)
    if channel is Channel.SMS:
        sms = to_gsm7(fill(template.sms, values), transliterate)
        return Rendered(text=sms, segments=sms_segments(sms))
    if channel is Channel.EMAIL:
        paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
        page = fill((layout_html,), {**{k: html.escape(v) for k, v in values.items()}, "subject": html.escape(subject),
                                     "paragraphs": paragraphs})
        return Rendered(text=text, subject=subject, html=page)
    if channel is Channel.ZALO:
        data = {param: (subject if fact == "subject" else values.get(fact, ""))[:100] for param, fact in zns_data.items()}
        return Rendered(text=subject, template_id=template.zns_template_id, template_data=data)
    return Rendered(text=text, subject=subject, link=values["link"])
