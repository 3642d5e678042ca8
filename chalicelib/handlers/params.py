"""The path, query and header parameters routes share, each with the JSON Schema the boundary enforces."""

from __future__ import annotations

from chalicelib.domain.vocabulary import AgencyLevel, OnlineForm, Status
from chalicelib.handlers.http import Param

AGENCY_CODE_SCHEMA = {"type": "string", "pattern": "^[A-Z0-9][A-Z0-9.]{0,39}$", "maxLength": 40}

DOSSIER_ID = Param(
    "dossier_id", "the dossier's id (32 hex characters)",
    {"type": "string", "pattern": "^[0-9a-f]{32}$", "maxLength": 32}, required=True,
)
ACTION = Param(
    "action", "a lifecycle action in kebab-case (e.g. receive, request-supplement)",
    {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$", "maxLength": 40}, required=True,
)
AGENCY_CODE = Param("agency_code", "an agency code, e.g. H46.C19900", AGENCY_CODE_SCHEMA, required=True)
# Years 2000–2099: the service's own span; a calendar day or a report for year 1 or 9999 is a typo, not a request.
DAY = Param("day", "a day, YYYY-MM-DD (Vietnam)",
            {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-[0-9]{2}-[0-9]{2}$", "maxLength": 10},
            code="DAY_INVALID",
            required=True)

LIMIT = Param("limit", "page size, 1..100 (default 20)", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})
CURSOR = Param(
    "cursor", "from the previous page's next_cursor",
    {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": "^[A-Za-z0-9_-]+$"},
)
STATUS = Param("status", "only this status", {"type": "string", "enum": [s.value for s in Status]})
DUE_BEFORE = Param("due_before", "only open dossiers due before this instant (ISO-8601 with zone); most urgent first",
                   {"type": "string", "format": "date-time", "maxLength": 40})
OVERDUE = Param("overdue", "true: only open dossiers past their due time; most urgent first",
                {"type": "boolean", "default": False})
PERIOD = Param("period", "YYYY-MM, YYYY-Qn or YYYY, Vietnam time",
               {"type": "string", "pattern": "^20[0-9]{2}(-(0[1-9]|1[0-2]|Q[1-4]))?$", "maxLength": 7}, required=True,
               code="PERIOD_INVALID")
TIER = Param("tier", "also rank every agency of this tier under the agency: department, district or commune",
             {"type": "string", "enum": ["department", "district", "commune"]})
REPORT_FORMAT = Param("format", "json (default); csv (the ranking, one row per agency; needs tier); xlsx (a sheet per "
                      "tier under the agency, ranked, targets and misses highlighted, a chart of the online share)",
                      {"type": "string", "enum": ["json", "csv", "xlsx"], "default": "json"})
AGENCY = Param("agency", "agency code", AGENCY_CODE_SCHEMA, required=True)

# The catalogue's (GET /v1/procedures, /v1/procedures/{code}, /v1/agencies)
PROCEDURE_CODE = Param(
    "code", "a procedure's code in the national database, e.g. 1.001193",
    {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z.-]{0,39}$", "maxLength": 40}, required=True,
)
OFFERED_AT = Param("agency", "only procedures that may be filed at this agency", AGENCY_CODE_SCHEMA)
LEVEL = Param("level", "only this level", {"type": "string", "enum": [level.value for level in AgencyLevel]})
ONLINE_FORM = Param("online_form", "only procedures offered online this far: full, partial or none",
                    {"type": "string", "enum": [form.value for form in OnlineForm]})
SEARCH = Param("q", "a code (or part of one) or words of the name, in any order; case and diacritics aside",
               {"type": "string", "format": "text-line", "minLength": 1, "maxLength": 100})
PARENT = Param("parent", "only the agencies directly under this one", AGENCY_CODE_SCHEMA)

# Headers
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key", "repeat a submission safely: the same key and body give the same response (1-128 printable "
    "ASCII characters, no spaces)",
    {"type": "string", "pattern": "^[!-~]{1,128}$", "minLength": 1, "maxLength": 128}, code="IDEMPOTENCY_KEY_INVALID",
)
