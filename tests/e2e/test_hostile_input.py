"""Hostile input over real HTTP, one test per class the audit of issue 6 found: each once answered 500 (or was
stored when it should not have been); each must now be a 4xx in the documented error shape, short, and change
nothing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from jsonschema import Draft202012Validator

from chalicelib.auth import mint_dev_token
from chalicelib.settings import Settings
from chalicelib.validation import load_schema
from tests.support import Api, Reply, commune, submission

AGENCY = commune(20)  # a commune no other test counts in
ERROR_SHAPE = Draft202012Validator(load_schema("error.v1.json"))


def refused(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    """The reply is `status` in the documented error shape (with `code`, if given), and short."""
    assert reply.status == status, reply.body
    assert ERROR_SHAPE.is_valid(reply.body), reply.body
    assert len(json.dumps(reply.body)) < 4000, "an error must not echo the input back"
    if code is not None:
        assert reply.body["error"]["code"] == code, reply.body
    return dict(reply.body["error"])


@pytest.fixture(scope="module")
def citizen(api: Api) -> str:
    return api.token("citizen", sub="hostile-citizen")


@pytest.fixture(scope="module")
def officer(api: Api) -> str:
    return api.token("officer", sub="hostile-officer", agency=AGENCY)


@pytest.fixture(scope="module")
def dossier(api: Api, citizen: str) -> dict[str, Any]:
    reply = api.call("POST", "/v1/dossiers", submission(agency_code=AGENCY), token=citizen)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def raw_submission(**applicant: str) -> bytes:
    """A submission as JSON text, with applicant fields spliced in verbatim (escape sequences and all)."""
    body = json.dumps(submission(agency_code=AGENCY))
    for name, literal in applicant.items():
        original = json.dumps(submission()["applicant"][name])
        body = body.replace(f'"{name}": {original}', f'"{name}": {literal}', 1)
    return body.encode()


# --- deep nesting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 5000])
def test_deep_nesting_is_refused(api: Api, citizen: str, depth: int) -> None:
    refused(api.call("POST", "/v1/dossiers", raw=b"[" * depth + b"]" * depth, token=citizen), 400, "BODY_TOO_DEEP")
    inside = raw_submission(name="[" * depth + '"x"' + "]" * depth)
    refused(api.call("POST", "/v1/dossiers", raw=inside, token=citizen), 400, "BODY_TOO_DEEP")


# --- lone surrogates -------------------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_submission_is_refused(api: Api, citizen: str) -> None:
    reply = api.call("POST", "/v1/dossiers", raw=raw_submission(name='"Nguy\\ud800n"'), token=citizen,
                     headers={"Idempotency-Key": "surrogate-1"})
    refused(reply, 400, "TEXT_INVALID")


def test_a_lone_surrogate_in_a_note_is_refused_and_the_history_stays_strict_json(
    api: Api, officer: str, dossier: dict[str, Any]
) -> None:
    body = b'{"expected_version": 1, "note": "a\\udc00b"}'
    refused(api.call("POST", f"/v1/dossiers/{dossier['id']}/actions/receive", raw=body, token=officer), 400, "TEXT_INVALID")
    history = api.call("GET", f"/v1/dossiers/{dossier['id']}/history", token=officer)
    assert history.status == 200
    json.dumps(history.body).encode("utf-8")  # encodable: no surrogate was stored
    assert [e["action"] for e in history.body["entries"]] == ["submit"]


# --- numbers ---------------------------------------------------------------------------------------------


def test_a_huge_integer_literal_is_refused(api: Api, officer: str, dossier: dict[str, Any]) -> None:
    body = b'{"expected_version": 1' + b"0" * 5000 + b"}"
    path = f"/v1/dossiers/{dossier['id']}/actions/receive"
    refused(api.call("POST", path, raw=body, token=officer), 400, "NUMBER_TOO_LARGE")
    refused(api.call("POST", path, {"expected_version": 10**15}, token=officer), 400, "VALIDATION_FAILED")


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A3", "1e3", "-1", "0", "101", "9" * 40])
def test_a_query_integer_takes_ascii_digits_in_range(api: Api, citizen: str, value: str) -> None:
    refused(api.call("GET", f"/v1/dossiers?limit={value}", token=citizen), 400, "QUERY_INVALID")


@pytest.mark.parametrize("period", ["%C2%B2%C2%B2%C2%B2%C2%B2-11", "2026-13", "2026-11%0A", "2026-Q0"])
def test_a_report_period_is_exact(api: Api, admin_token: str, period: str) -> None:
    refused(api.call("GET", f"/v1/reports/kpi?period={period}&agency=H46", token=admin_token), 400, "PERIOD_INVALID")


# --- identifiers past DynamoDB's key size ----------------------------------------------------------------


def test_long_identifiers_never_reach_dynamodb(api: Api, citizen: str, officer: str, admin_token: str) -> None:
    long_id = "a" * 3000
    refused(api.call("GET", f"/v1/dossiers/{long_id}", token=citizen), 400, "PATH_INVALID")
    refused(api.call("GET", f"/v1/dossiers/{long_id}/history", token=citizen), 400, "PATH_INVALID")
    refused(api.call("POST", f"/v1/dossiers/{long_id}/actions/receive", {"expected_version": 1}, token=officer),
            400, "PATH_INVALID")
    refused(api.call("GET", f"/v1/agencies/{'H' * 3000}/dossiers", token=officer), 400, "PATH_INVALID")
    refused(api.call("GET", f"/v1/reports/kpi?period=2026-11&agency={'H' * 3000}", token=admin_token), 400, "QUERY_INVALID")
    refused(api.call("GET", f"/v1/dossiers?cursor={'A' * 3000}", token=citizen), 400, "QUERY_INVALID")


# --- token claims ----------------------------------------------------------------------------------------


def forged(**claims: Any) -> str:
    """A token signed with the local stage's real key, carrying claims the dev-token route would not mint."""
    settings = Settings.from_env()
    now = datetime.now(UTC)
    base: dict[str, Any] = {"sub": "x", "role": "citizen", "iss": settings.jwt_issuer, "aud": settings.jwt_audience,
                            "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())}
    return jwt.encode(base | claims, settings.jwt_key, algorithm="HS256")


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"sub": ""}, "TOKEN_CLAIMS_INVALID"),
        ({"sub": "u" * 3000}, "TOKEN_CLAIMS_INVALID"),
        ({"sub": "with space"}, "TOKEN_CLAIMS_INVALID"),
        ({"sub": 42}, "TOKEN_INVALID"),  # PyJWT requires a string subject
        ({"agency": "H" * 3000, "role": "officer"}, "TOKEN_CLAIMS_INVALID"),
        ({"name": "\u202eevil"}, "TOKEN_CLAIMS_INVALID"),
        ({"exp": int((datetime.now(UTC) + timedelta(days=365)).timestamp())}, "TOKEN_LIFETIME_TOO_LONG"),
    ],
    ids=["empty-sub", "long-sub", "spaced-sub", "numeric-sub", "long-agency", "bidi-name", "a-year-long"],
)
def test_token_claims_are_checked_for_shape(api: Api, claims: dict[str, Any], code: str) -> None:
    refused(api.call("GET", "/v1/dossiers", token=forged(**claims)), 401, code)


def test_a_dev_token_cannot_be_minted_with_a_sub_the_api_would_refuse(api: Api) -> None:
    refused(api.call("POST", "/v1/dev/tokens", {"role": "citizen", "sub": "u" * 3000}), 400, "VALIDATION_FAILED")
    refused(api.call("POST", "/v1/dev/tokens", {"role": "citizen", "sub": ""}), 400, "VALIDATION_FAILED")


def test_a_well_formed_forged_claim_set_is_accepted(api: Api) -> None:
    """The control: the same forging, with good claims, is let in, so the refusals above are about shape."""
    assert api.call("GET", "/v1/dossiers", token=forged(sub="ok-subject")).status == 200


def test_a_token_of_the_local_helper_still_works(api: Api) -> None:
    settings = Settings.from_env()
    token = mint_dev_token(settings, role="citizen", sub="helper", name="Lê Văn Tám", agency=None,
                           ttl=timedelta(hours=12), now=datetime.now(UTC))
    assert api.call("GET", "/v1/dossiers", token=token).status == 200


# --- the text policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("name", '"Nguy\\u0000n"'),
        ("name", '"Nguy\\u0007n"'),
        ("name", '"Nguy\\u202en"'),
        ("name", '"\\u200b\\u200b"'),
        ("name", '"   "'),
        ("name", '"Nguyễn\\nVăn"'),
        ("national_id", '"046190000123\\n"'),
        ("national_id", '"０４６１９００００１２３"'),
        ("phone", '"0912345678\\n"'),
    ],
    ids=["nul", "bell", "bidi-override", "zero-width-only", "blank", "newline-in-name", "trailing-newline-id",
         "fullwidth-digits", "trailing-newline-phone"],
)
def test_text_that_breaks_the_policy_is_refused(api: Api, citizen: str, field: str, literal: str) -> None:
    refused(api.call("POST", "/v1/dossiers", raw=raw_submission(**{field: literal}), token=citizen), 400)


def test_a_multi_line_note_is_welcome(api: Api, officer: str, citizen: str) -> None:
    created = api.call("POST", "/v1/dossiers", submission(agency_code=AGENCY), token=citizen)
    reply = api.call("POST", f"/v1/dossiers/{created.body['id']}/actions/receive",
                     {"expected_version": 1, "note": "Dòng 1\nDòng 2"}, token=officer)
    assert reply.status == 200, reply.body


# --- size and shape --------------------------------------------------------------------------------------


def test_a_body_over_the_routes_limit_is_413_and_not_echoed(api: Api, citizen: str) -> None:
    body = submission(agency_code=AGENCY)
    body["applicant"]["name"] = "x" * 10_000_000
    error = refused(api.call("POST", "/v1/dossiers", body, token=citizen), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["max_bytes"] == 128 * 1024


def test_a_long_field_under_the_body_limit_is_400_and_not_echoed(api: Api, citizen: str) -> None:
    body = submission(agency_code=AGENCY)
    body["applicant"]["name"] = "x" * 100_000
    refused(api.call("POST", "/v1/dossiers", body, token=citizen), 400, "VALIDATION_FAILED")


def test_a_body_that_is_not_json_is_415(api: Api, citizen: str) -> None:
    reply = api.call("POST", "/v1/dossiers", raw=b"name=x", token=citizen,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    refused(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_get_with_an_odd_content_type_answers_in_our_shape(api: Api, citizen: str) -> None:
    reply = api.call("GET", "/v1/dossiers", token=citizen, headers={"Content-Type": "text/plain"})
    assert reply.status in (200, 415)
    if reply.status == 415:
        refused(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_method_a_route_does_not_take_is_405_in_our_shape(api: Api, citizen: str) -> None:
    refused(api.call("DELETE", "/v1/dossiers", token=citizen), 405, "METHOD_NOT_ALLOWED")


def test_an_unknown_route_is_404_in_our_shape(api: Api, citizen: str) -> None:
    refused(api.call("GET", "/v1/nothing-here", token=citizen), 404, "ROUTE_NOT_FOUND")
    refused(api.call("GET", "/v1/nothing-here"), 404, "ROUTE_NOT_FOUND")


def test_an_unknown_action_is_404(api: Api, officer: str, dossier: dict[str, Any]) -> None:
    refused(api.call("POST", f"/v1/dossiers/{dossier['id']}/actions/fly", {"expected_version": 1}, token=officer),
            404, "ACTION_UNKNOWN")


# --- the second audit: a reviewer's probes of the fixes above ---------------------------------------------


def test_an_unterminated_string_of_escaped_quotes_is_refused_promptly(api: Api, citizen: str) -> None:
    """Once quadratic in the depth check: ~190 s for a 128 KiB body, holding the whole local server. The client's
    30 s timeout in `Api.call` fails this test if it ever comes back."""
    body = b'{"a":"' + b'\\"' * (60 * 1024)
    refused(api.call("POST", "/v1/dossiers", raw=body, token=citizen), 400, "BODY_NOT_JSON")


def test_a_forged_cursor_of_empty_strings_is_400(api: Api, citizen: str, officer: str) -> None:
    forged = base64.urlsafe_b64encode(json.dumps({"pk": {"S": ""}, "sk": {"S": ""}, "owner_id": {"S": "hostile-citizen"},
                                                  "submitted_at": {"S": ""}}).encode()).decode().rstrip("=")
    refused(api.call("GET", f"/v1/dossiers?cursor={forged}", token=citizen), 400, "CURSOR_INVALID")
    refused(api.call("GET", f"/v1/agencies/{AGENCY}/dossiers?overdue=true&cursor={forged}", token=officer),
            400, "CURSOR_INVALID")


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00"])
def test_an_instant_utc_cannot_hold_is_400(api: Api, officer: str, instant: str) -> None:
    refused(api.call("GET", f"/v1/agencies/{AGENCY}/dossiers?due_before={instant}", token=officer), 400, "QUERY_INVALID")


def test_an_email_with_a_header_injection_is_refused(api: Api, citizen: str) -> None:
    body = submission(agency_code=AGENCY)
    body["applicant"]["email"] = "a@b.vn\nBcc: x@y.z"
    refused(api.call("POST", "/v1/dossiers", body, token=citizen), 400, "VALIDATION_FAILED")


def test_a_citizen_learns_nothing_of_agency_codes_from_the_work_queue(api: Api, citizen: str) -> None:
    refused(api.call("GET", "/v1/agencies/ZZZ123/dossiers", token=citizen), 403, "ROLE_NOT_ALLOWED")
    refused(api.call("GET", f"/v1/agencies/{AGENCY}/dossiers", token=citizen), 403, "ROLE_NOT_ALLOWED")


@pytest.mark.parametrize("period", ["0000-01", "9999-12"])
def test_a_period_outside_the_services_span_is_400(api: Api, admin_token: str, period: str) -> None:
    refused(api.call("GET", f"/v1/reports/kpi?period={period}&agency=H46", token=admin_token), 400, "PERIOD_INVALID")


# --- notifications (issue 10): the inbox, preferences and the providers' receipts ---------------------------


@pytest.mark.parametrize(("path", "code"), [
    ("/v1/me/notifications?cursor=" + "A" * 2000, "QUERY_INVALID"),
    ("/v1/me/notifications?cursor=bm90LWpzb24", "CURSOR_INVALID"),
    ("/v1/me/notifications?cursor=" + base64.urlsafe_b64encode(b'{"pk": {"S": ""}}').decode().rstrip("="),
     "CURSOR_INVALID"),
    ("/v1/me/notifications?limit=%C2%B2", "QUERY_INVALID"),
])
def test_an_inbox_cursor_or_limit_outside_its_shape_is_400(api: Api, citizen: str, path: str, code: str) -> None:
    refused(api.call("GET", path, token=citizen), 400, code)


@pytest.mark.parametrize("notification_id", ["x" * 33, "ZZ" * 16, "%00" + "a" * 31])
def test_a_notification_id_outside_its_shape_is_400(api: Api, citizen: str, notification_id: str) -> None:
    refused(api.call("POST", f"/v1/me/notifications/{notification_id}/read", token=citizen), 400, "PATH_INVALID")


@pytest.mark.parametrize("body", [{}, {"inbox": False}, {"sms": "no"}, {"sms": None}, {"fax": True}])
def test_preferences_outside_their_schema_are_400(api: Api, citizen: str, body: dict[str, Any]) -> None:
    refused(api.call("PUT", "/v1/me/preferences", body, token=citizen), 400, "VALIDATION_FAILED")


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({}, 400, "HEADER_INVALID"),
    ({"webhook-id": "m1", "webhook-timestamp": "nan", "webhook-signature": "v1,AAAA"}, 400, "HEADER_INVALID"),
    ({"webhook-id": "m1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}, 401, "WEBHOOK_SIGNATURE_INVALID"),
    ({"webhook-id": "m1", "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
      "webhook-signature": "v1"}, 401, "WEBHOOK_SIGNATURE_INVALID"),
    ({"webhook-id": "m1", "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
      "webhook-signature": "v1,not*base64"}, 401, "WEBHOOK_SIGNATURE_INVALID"),
    ({"webhook-id": "m1", "webhook-timestamp": "9" * 12, "webhook-signature": "v1,AAAA"}, 401,
     "WEBHOOK_SIGNATURE_INVALID"),
])
def test_a_delivery_receipt_without_a_valid_signature_is_refused(api: Api, headers: dict[str, str], status: int,
                                                                 code: str) -> None:
    body = {"reference": "a" * 32, "status": "delivered"}
    refused(api.call("POST", "/v1/partners/vnpt/delivery-receipts", body, headers=headers), status, code)


def test_a_delivery_receipt_for_an_unknown_provider_is_400(api: Api) -> None:
    refused(api.call("POST", "/v1/partners/fax/delivery-receipts", {"reference": "a" * 32, "status": "delivered"}),
            400, "PATH_INVALID")
