"""The national index's items (Decision 766/QĐ-TTg) and the province's targets, each with a worked example.

Sources: the index's formula document as transcribed in ChippedTopaz/qd766 `web/src/formula-document.ts` (definitions,
thresholds: "Đạt từ 80% trở lên sẽ đạt điểm tối đa. Dưới 80% tính theo công thức: Tỷ lệ * Điểm tối đa / 80%") and
`web/src/formula-maximums.ts` (points: 2.1 = 20, the full-online item 12, 3.5 = 2, 3.5b = 2, 3.6 = 6, 4.1 = 6, 4.2 = 4,
5.4 = 6); ../shared/DOMAIN.md "The national service-quality index" and "Province targets (provincial decision of
October 2023)".
"""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.calendar import ProcessingTime
from chalicelib.domain.catalogue import Agency, FeeLine, Procedure
from chalicelib.domain.index766 import (
    GROUP_POINTS,
    UNCOMPUTABLE,
    CatalogueFacts,
    Scoring,
    catalogue_facts,
    index_items,
)
from chalicelib.domain.kpi import Ratio, distinct_procedures, on_time_figures, payment_figures
from chalicelib.domain.targets import Target, Tier, applicable, judged, ranks, targets_from_data, tier_of
from chalicelib.domain.vocabulary import AgencyLevel, OnlineForm

ROOT = Agency("T46", "Tỉnh", AgencyLevel.PROVINCE, "province", ("T46",))
JUSTICE = Agency("T46.03", "Sở Tư pháp", AgencyLevel.PROVINCE, "department", ("T46", "T46.03"), department="tu_phap")
INSPECTORATE = Agency("T46.14", "Thanh tra tỉnh", AgencyLevel.PROVINCE, "department", ("T46", "T46.14"),
                      department="thanh_tra")
CENTRE = Agency("T46.00", "Trung tâm PVHCC", AgencyLevel.PROVINCE, "service_centre", ("T46", "T46.00"))
COMMUNE = Agency("T46.X01", "UBND xã Phú Lộc", AgencyLevel.COMMUNE, "commune", ("T46", "T46.X01"))


def item(report: object, item_id: str) -> dict[str, object]:
    return next(i for i in report.as_dict()["items"] if i["id"] == item_id)  # type: ignore[attr-defined]


# --- scoring -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scoring", "ratio", "score"), [
    (Scoring(20), Ratio(45, 50), 18.0),  # 2.1, linear: 90% of 20 points
    (Scoring(2, 80.0), Ratio(6, 10), 1.5),  # 3.5 below its 80% threshold: 60% × 2 / 80%
    (Scoring(2, 80.0), Ratio(9, 10), 2.0),  # at or above the threshold: full points
    (Scoring(4, 80.0), Ratio(7, 10), 3.5),  # 4.2: 70% × 4 / 80%
    (Scoring(6, 90.0), Ratio(88, 100), 5.87),  # 5.4: 88% × 6 / 90%
    (Scoring(6), Ratio(3, 10), 1.8),  # 3.6, linear to 100%
    (Scoring(6), Ratio(0, 0), None),  # nothing to divide by: no score (N/A), not zero
    (Scoring(None, 50.0), Ratio(1, 2), None),  # 3.3: reported, no points of its own
])
def test_an_item_scores_by_its_threshold_or_linearly(scoring: Scoring, ratio: Ratio, score: float | None) -> None:
    assert scoring.score(ratio) == score


def test_the_groups_add_up_to_the_index_100_points() -> None:
    assert sum(GROUP_POINTS.values()) == 100


# --- the items, from counters --------------------------------------------------------------------------------------


METRICS = {
    # filed: 60 dossiers of full-online procedures (30 online, 6 assisted, 24 direct), 40 of partial ones (10 online)
    "filed|applicant=citizen|channel=online|form=full": 30,
    "filed|applicant=citizen|channel=online_assisted|form=full": 6,
    "filed|applicant=citizen|channel=direct|form=full": 24,
    "filed|applicant=citizen|channel=online|form=partial": 10,
    "filed|applicant=citizen|channel=direct|form=partial": 30,
    # online services with an online dossier: two (a third's counter is 0: it cannot exist, but is ignored if it did)
    "filed_online|procedure=1.001193": 40, "filed_online|procedure=2.000635": 6, "filed_online|procedure=1.000894": 0,
    # 2.1: 100 received; 85 finished on time, 5 late; the month-end snapshot: 7 still within time, 3 late
    "received|channel=online": 60, "received|channel=direct": 40,
    "finished|on_time=true": 85, "finished|on_time=false": 5,
    "unfinished|on_time=true": 7, "unfinished|on_time=false": 3, "period_closed": 1,
    # results: 50 made, 40 electronic, 30 of fully digitised dossiers
    "result|electronic=true": 40, "result|electronic=false": 10, "result_digitised": 30,
    # ratings: 4 unsatisfied
    "rated|rating=unsatisfied": 4, "rated|rating=satisfied": 20,
    # payments: 20 dossiers filed with fees; 6 paid online (first payments), over 3 procedures; 8 transactions online,
    # 12 at the desk
    "fee_bearing": 20, "dossier_paid_online": 6, "payment|via=online": 8, "payment|via=desk": 12,
    "paid_online|procedure=2.000635": 5, "paid_online|procedure=1.004873": 2, "paid_online|procedure=1.001612": 1,
}
FACTS = CatalogueFacts(online_services=5, fee_bearing=10, fee_bearing_payable_online=6)


@pytest.fixture(scope="module")
def report() -> object:
    return index_items(METRICS, on_time_figures(METRICS, METRICS), payment_figures(METRICS), FACTS)


@pytest.mark.parametrize(("item_id", "numerator", "denominator", "score"), [
    ("2.1", 92, 100, 18.4),  # (85 on time + 7 within time) / 100 received, × 20
    ("3.tt", 36, 60, 7.2),  # (30 online + 6 assisted) of full-online procedures / 60 of them, × 12
    ("3.2", 2, 5, None),  # services with an online dossier / online services; no points
    ("3.3", 46, 100, None),  # filed online (assisted included) / filed; no points
    ("3.5", 6, 10, 1.5),  # fee-bearing procedures payable online / fee-bearing procedures, 2 at 80%
    ("3.5b", 3, 10, 0.6),  # fee-bearing procedures with an online payment / fee-bearing procedures, × 2
    ("3.6", 6, 20, 1.8),  # dossiers paid online / dossiers filed with fees, × 6
    ("4.1", 40, 50, 4.8),  # electronic results / results, × 6
    ("4.2", 30, 50, 3.0),  # digitised / results: 60%, 4 at 80% → 3
    ("5.4", 88, 100, 5.87),  # 100% − (8% late + 4% unsatisfied) = 88%, 6 at 90%
])
def test_each_computable_item_follows_its_definition(report: object, item_id: str, numerator: int, denominator: int,
                                                     score: float | None) -> None:
    got = item(report, item_id)
    assert (got["numerator"], got["denominator"], got["score"]) == (numerator, denominator, score)


def test_group_totals_sum_the_computable_items_and_say_how_many_points_they_cover(report: object) -> None:
    groups = {g["group"]: g for g in report.as_dict()["groups"]}  # type: ignore[attr-defined]
    assert groups["payment"] == {"group": "payment", "points": 10, "computable_points": 10, "score": 3.9}
    assert groups["digitisation"] == {"group": "digitisation", "points": 22, "computable_points": 10, "score": 7.8}
    assert groups["transparency"]["computable_points"] == 0 and groups["transparency"]["score"] is None
    total = report.as_dict()["total"]  # type: ignore[attr-defined]
    assert total["computable_points"] == 20 + 12 + 10 + 10 + 6
    assert total["score"] == round(18.4 + 7.2 + 3.9 + 7.8 + 5.87, 2)


def test_items_we_cannot_compute_are_listed_with_what_they_lack_not_faked(report: object) -> None:
    listed = report.as_dict()["not_computable"]  # type: ignore[attr-defined]
    assert {i["id"] for i in listed} >= {"1.1", "1.2", "1.3", "1.4", "4.3", "4.4", "5.2", "5.3"}
    assert all(i["lacking"] for i in listed)
    computed = {i["id"] for i in report.as_dict()["items"]}  # type: ignore[attr-defined]
    assert not computed & {i.id for i in UNCOMPUTABLE}
    # the points the index gives: what we compute and what we list add up to each group's points where known
    for group, points in GROUP_POINTS.items():
        listed_points = sum(i.points or 0 for i in UNCOMPUTABLE if i.group is group)
        scored = next(g for g in report.as_dict()["groups"] if g["group"] == group.value)  # type: ignore[attr-defined]
        assert scored["computable_points"] + listed_points <= points


def test_distinct_procedures_count_those_above_zero_only() -> None:
    assert distinct_procedures(METRICS, "paid_online") == 3
    assert distinct_procedures(METRICS, "filed_online") == 2


def test_catalogue_facts_cover_the_agency_and_its_subordinates() -> None:
    def procedure(code: str, level: AgencyLevel, form: OnlineForm, fee: int, department: str | None = None) -> Procedure:
        return Procedure(code=code, name=code, field="x", level=level, department=department, online_form=form,
                         internal=False, fees=(FeeLine("Lệ phí", fee),), processing_time=ProcessingTime(3),
                         required_documents=(), postal_result=True)

    procedures = [procedure("c1", AgencyLevel.COMMUNE, OnlineForm.FULL, 5000),
                  procedure("c2", AgencyLevel.COMMUNE, OnlineForm.NONE, 10000),
                  procedure("c3", AgencyLevel.COMMUNE, OnlineForm.PARTIAL, 0),
                  procedure("p1", AgencyLevel.PROVINCE, OnlineForm.FULL, 100000, department="tu_phap")]
    assert catalogue_facts([COMMUNE], procedures) == (CatalogueFacts(2, 2, 1), 3)
    assert catalogue_facts([ROOT, JUSTICE, COMMUNE], procedures) == (CatalogueFacts(3, 3, 2), 4)


# --- targets ---------------------------------------------------------------------------------------------------------


TARGETS = targets_from_data({"targets": [
    {"id": "2023", "figure": "online_share", "minimum_percent": 50, "valid_from": "2023-10-01", "valid_to": None,
     "tiers": ["department", "district", "commune"], "excluded_departments": ["thanh_tra"], "source": "QĐ 10/2023"},
    {"id": "2020", "figure": "online_share", "minimum_percent": 20, "valid_from": "2020-01-01",
     "valid_to": "2023-09-30", "tiers": ["department", "district", "commune"], "source": "2020"},
]})


def test_the_2023_targets_hold_departments_but_the_inspectorate_and_communes() -> None:
    day = date(2026, 11, 30)
    assert [t.id for t in applicable(TARGETS, JUSTICE, day)] == ["2023"]
    assert [t.id for t in applicable(TARGETS, COMMUNE, day)] == ["2023"]
    assert applicable(TARGETS, INSPECTORATE, day) == []  # excepted by the decision
    assert applicable(TARGETS, CENTRE, day) == [] and applicable(TARGETS, ROOT, day) == []


def test_a_period_before_october_2023_is_held_to_the_2020_target() -> None:
    assert [t.id for t in applicable(TARGETS, COMMUNE, date(2023, 9, 30))] == ["2020"]
    assert [t.id for t in applicable(TARGETS, COMMUNE, date(2023, 10, 1))] == ["2023"]


@pytest.mark.parametrize(("ratio", "met"), [(Ratio(50, 100), True), (Ratio(49, 100), False), (Ratio(1, 2), True),
                                            (Ratio(0, 0), None)])
def test_a_target_is_met_at_its_minimum_exactly(ratio: Ratio, met: bool | None) -> None:
    target: Target = TARGETS[0]
    assert target.met(ratio) is met
    (judgement,) = judged([target], {"online_share": ratio})
    assert judgement["met"] is met and judgement["minimum_percent"] == 50


def test_ranks_are_competition_ranks_highest_first_and_skip_the_unjudged() -> None:
    assert ranks([40.0, 90.0, None, 40.0, 10.0]) == [2, 1, None, 2, 4]


def test_tiers() -> None:
    assert [tier_of(a) for a in (ROOT, JUSTICE, CENTRE, COMMUNE)] == [Tier.PROVINCE, Tier.DEPARTMENT, None, Tier.COMMUNE]


def test_an_unknown_figure_in_the_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown figure"):
        targets_from_data({"targets": [{"id": "x", "figure": "nonsense", "minimum_percent": 1,
                                        "valid_from": "2023-01-01", "tiers": [], "source": "-"}]})


def test_the_shipped_targets_parse() -> None:
    import json

    from chalicelib.bootstrap import TARGETS_FILE
    shipped = targets_from_data(json.loads(TARGETS_FILE.read_text(encoding="utf-8")))
    assert {t.figure for t in shipped if t.id.startswith("2023")} == {
        "online_share", "transactions_online_share", "fee_procedures_payable_online_share",
        "procedures_paid_online_share", "dossiers_paid_online_share", "procedures_online_share"}


def test_a_tier_is_listed_in_rank_order_with_the_unranked_last() -> None:
    from chalicelib.domain.history import Actor
    from chalicelib.domain.metrics import Metric
    from chalicelib.services.reports import tier_report
    from tests.fakes import InMemoryCatalogue, InMemoryCounters, InMemoryListings

    communes = [Agency(f"T46.X0{n}", f"Xã {n}", AgencyLevel.COMMUNE, "commune", ("T46", f"T46.X0{n}")) for n in (1, 2, 3)]
    catalogue = InMemoryCatalogue([ROOT, *communes], [])
    counters = InMemoryCounters()
    online = str(Metric.of("filed", applicant="citizen", channel="online", form="full"))
    direct = str(Metric.of("filed", applicant="citizen", channel="direct", form="full"))
    for code, metric, n in (("T46.X01", online, 1), ("T46.X01", direct, 1), ("T46.X03", online, 2)):
        counters.values[(f"AGENCY#{code}", "2026-11", metric)] = n
    admin = Actor("admin-1", "admin", "Quản trị")
    ranking = tier_report("T46", "2026-11", Tier.COMMUNE, admin, catalogue, InMemoryListings(catalogue), counters,
                          TARGETS)
    order = [(row["agency"]["code"], row["figures"]["online_share"]["rank"]) for row in ranking["agencies"]]
    assert order == [("T46.X03", 1), ("T46.X01", 2), ("T46.X02", None)]
