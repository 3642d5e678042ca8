"""The catalogue for the app, public and cacheable: procedures (found, or one in full) and the agency tree."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.bootstrap import container
from chalicelib.domain.catalogue import Agency, Procedure, fee_to_data
from chalicelib.domain.catalogue_search import parent_of
from chalicelib.domain.vocabulary import OnlineForm
from chalicelib.handlers.caching import cacheable
from chalicelib.handlers.http import (
    IF_NONE_MATCH,
    RouteDoc,
    decode_cursor,
    encode_cursor,
    endpoint,
    header_params,
    query_params,
)
from chalicelib.handlers.params import CURSOR, LEVEL, LIMIT, OFFERED_AT, ONLINE_FORM, PARENT, PROCEDURE_CODE, SEARCH
from chalicelib.services import catalogue

bp = Blueprint(__name__)


def _answer(body: dict[str, Any]) -> Response:
    c = container()
    return cacheable(body, header_params(bp).get(IF_NONE_MATCH.name), c.settings.catalogue_cache_s)


def agency_view(agency: Agency) -> dict[str, Any]:
    return {"code": agency.code, "name": agency.name, "level": agency.level.value, "kind": agency.kind,
            "parent": parent_of(agency), "path": list(agency.path), "department": agency.department}


def procedure_summary(procedure: Procedure) -> dict[str, Any]:
    return {
        "code": procedure.code, "name": procedure.name, "field": procedure.field, "level": procedure.level.value,
        "department": procedure.department, "online_form": procedure.online_form.value,
        "full_online": procedure.online_form == OnlineForm.FULL, "postal_result": procedure.postal_result,
    }


def procedure_view(procedure: Procedure, agencies: list[Agency]) -> dict[str, Any]:
    return {
        **procedure_summary(procedure),
        "internal": procedure.internal,
        "paper_result": procedure.paper_result,
        "processing_time": {"amount": procedure.processing_time.amount, "unit": procedure.processing_time.unit.value},
        "fees": [fee_to_data(line) for line in procedure.fees],
        "required_documents": [{"type": d.type, "name": d.name} for d in procedure.required_documents],
        "agencies": [{"code": a.code, "name": a.name, "level": a.level.value, "kind": a.kind} for a in agencies],
    }


@bp.route("/v1/procedures", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="Procedures in code order, found by code or name (case and diacritics aside), where filed, level, "
                "online form",
        response_schema="procedure-page.v1.json",
        auth=False,
        cacheable=True,
        query=(OFFERED_AT, LEVEL, SEARCH, ONLINE_FORM, LIMIT, CURSOR),
        errors=(400, 404, 502, 503),  # the catalogue is read from DynamoDB
    )
)
def find_procedures() -> Response:
    params = query_params(bp)
    c = container()
    cmd = catalogue.FindProcedures(
        agency=params.get("agency"), level=params.get("level"), online_form=params.get("online_form"),
        q=params.get("q"), limit=params["limit"], cursor=decode_cursor(params.get("cursor")),
    )
    page, next_key = catalogue.find_procedures(cmd, c.catalogue, c.listings)
    return _answer({"items": [procedure_summary(p) for p in page], "next_cursor": encode_cursor(next_key)})


@bp.route("/v1/procedures/{code}", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="One procedure: fees (online where lower), documents, processing time, online form, the agencies "
                "that handle it",
        response_schema="procedure-detail.v1.json",
        auth=False,
        cacheable=True,
        path=(PROCEDURE_CODE,),
        errors=(400, 404, 502, 503),  # the catalogue is read from DynamoDB
    )
)
def get_procedure(code: str) -> Response:
    c = container()
    procedure, agencies = catalogue.procedure_details(code, c.catalogue, c.listings)
    return _answer(procedure_view(procedure, agencies))


@bp.route("/v1/agencies", methods=["GET"])
@endpoint(
    RouteDoc(
        summary="The agency tree: the agencies directly under a parent (or all), of a level",
        response_schema="agency-list.v1.json",
        auth=False,
        cacheable=True,
        query=(PARENT, LEVEL),
        errors=(400, 404, 502, 503),  # the catalogue is read from DynamoDB
    )
)
def list_agencies() -> Response:
    params = query_params(bp)
    c = container()
    agencies = catalogue.agency_tree(params.get("parent"), params.get("level"), c.catalogue, c.listings)
    return _answer({"items": [agency_view(a) for a in agencies]})
