"""Issue 8, the on-time rule (index item 2.1 of Decision 766/QĐ-TTg) and receipt: one test per rule, named after it.

Source of every rule: the index's published formula for 2.1, transcribed in the public repository ChippedTopaz/qd766
(`web/src/formula-document.ts`, record "2.1 Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn"). Worked examples use November
2026 (2 November is a Monday), Vietnam time, office hours 07:30–17:00, weekends off.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.calendar import ProcessingTime, WorkingCalendar
from chalicelib.domain.catalogue import DocumentType, FeeLine, Procedure
from chalicelib.domain.counting import Deltas, agency_scope, aggregate, metrics_of, total
from chalicelib.domain.dossier import Document, Dossier, SubmitDossier, submit
from chalicelib.domain.events import DossierChanged, EventType
from chalicelib.domain.kpi import month_end, on_time_figures, unfinished_at_month_end
from chalicelib.domain.lifecycle import Action
from chalicelib.domain.timeliness import (
    ClockFacts,
    RepeatedSupplementScope,
    Supplement,
    SupplementPolicy,
    Verdict,
    deadline,
    judge,
    on_time_limit,
)
from chalicelib.domain.vocabulary import AgencyLevel, Channel, OnlineForm, ResultDelivery, Status
from chalicelib.services import reports
from chalicelib.services.period_close import close_month, month_to_close
from tests.fakes import InMemoryCatalogue, InMemoryCounters, InMemoryDossiers, InMemoryListings, InMemoryTables
from tests.unit.test_actions import ADMIN, CITIZEN, COMMUNE, OFFICER, do, dossier, vn, walk

A, S = Action, Status
CAL = WorkingCalendar()


def received_dossier(at: datetime, legal_days: int = 3, **changes: Any) -> Dossier:
    return walk(dossier(legal_days=legal_days, **changes), (A.RECEIVE, at), (A.START_PROCESSING, at + timedelta(minutes=5)))


def ledger(*subjects: Dossier) -> dict[str, Deltas]:
    """The counters' ledger of these dossiers' events (the test helper numbers events per dossier: keyed by both)."""
    return {f"{subject.id}:{event.event_id}": aggregate([event]) for subject in subjects for event in subject.events}


def agency_metrics(*subjects: Dossier) -> dict[str, int]:
    return {str(key.metric): value for key, value in total(ledger(*subjects)).items()
            if key.scope == agency_scope(COMMUNE.code)}


def counted(subject: Dossier) -> list[str]:
    """What the dossier's events add to the counters (one metric text per count, in event order)."""
    return [str(metric) for event in subject.events for metric in metrics_of(event)]


# --- 1 ---------------------------------------------------------------------------------------------------------


def test_only_received_dossiers_are_judged() -> None:
    """Only received dossiers are judged; refused at the door or withdrawn before receipt are not (index 2.1: "chỉ tính các hồ sơ đã được tiếp nhận")."""  # noqa: E501
    door = dossier()
    event = do(door, A.REFUSE_AT_DOOR, vn(2, 10), reason="Không thuộc thẩm quyền")
    assert (door.verdict, event.on_time) == (None, None)
    assert counted(door) == ["not_received"]  # no `finished`, no `received`: outside 2.1 altogether

    before_receipt = dossier()
    do(before_receipt, A.WITHDRAW, vn(2, 10))
    assert before_receipt.verdict is None and counted(before_receipt) == ["withdrawn"]

    after_receipt = received_dossier(vn(2, 8))  # due Thursday 5 November 08:00
    event = do(after_receipt, A.WITHDRAW, vn(3, 10))
    assert (after_receipt.verdict, event.on_time) == ("on_time", True)  # withdrawals count once received

    # Worked example: the three dossiers above give 2.1 = 1 on time / 1 received = 100% (the old figure: 2/3 finished).
    figures = on_time_figures(agency_metrics(door, before_receipt, after_receipt), {})
    assert (figures.received, figures.finished_on_time, figures.finished_late) == (1, 1, 0)
    assert figures.share.percent == 100.0


# --- 2 ---------------------------------------------------------------------------------------------------------

# The example: 3 working days, received Wednesday 4 November 09:00 (appointment Monday 9 November 09:00),
# supplement asked Friday 6 November 16:00, completed Monday 9 November 08:00 (64 hours), finished Monday 14:00.
# Index: end − supplement time = Monday 14:00 − 64h = Friday 22:00 <= Monday 09:00: on time. (Pushing the appointment
# by the 1h30 of office time inside the wait, as before, gave Monday 10:30: late.)


def test_supplement_time_is_the_raw_interval_subtracted_from_the_end() -> None:
    """Supplement time = completion of the supplement − time of the request, subtracted from the end of processing (index 2.1: "Thời gian kết thúc xử lý - Thời gian bổ sung hồ sơ")."""  # noqa: E501
    facts = ClockFacts(vn(4, 9), 3, vn(9, 9), vn(9, 14), (Supplement(vn(6, 16), vn(9, 8)),))
    assert judge(facts, vn(30, 23), CAL) is Verdict.ON_TIME
    assert on_time_limit(facts, vn(30, 23)) == vn(9, 9) + timedelta(hours=64) == vn(12, 1)  # Thursday 01:00
    # the due date shown and watched: the last office instant at or before that limit, Wednesday's closing
    assert deadline(facts, vn(30, 23), CAL) == vn(11, 17)

    subject = walk(
        received_dossier(vn(4, 9)),
        (A.REQUEST_SUPPLEMENT, vn(6, 16), {"missing": "Bản sao giấy chứng sinh"}),
        (A.RESUBMIT_SUPPLEMENT, vn(9, 8)),
        (A.APPROVE, vn(9, 13)),
    )
    assert (subject.appointment_at, subject.due_at) == (vn(9, 9), vn(11, 17))  # the appointment on the slip stays
    event = do(subject, A.MARK_RESULT_READY, vn(9, 14), result_reference="KS-1")
    assert (subject.verdict, event.on_time) == ("on_time", True)

    # without an appointment date: working time from receipt to (end − supplement time) <= 3 office days
    assert judge(dataclasses.replace(facts, appointment_at=None), vn(30, 23), CAL) is Verdict.ON_TIME


# --- 3 ---------------------------------------------------------------------------------------------------------

TWO_ANSWERED = (Supplement(vn(2, 10), vn(2, 11)), Supplement(vn(2, 13), vn(2, 14)))
SECOND_UNANSWERED = (Supplement(vn(2, 10), vn(2, 11)), Supplement(vn(2, 13), None))
INDEX = SupplementPolicy()
EVERY = SupplementPolicy(scope=RepeatedSupplementScope.EVERY_DOSSIER)
NEVER = SupplementPolicy(scope=RepeatedSupplementScope.NONE)
EXEMPT = SupplementPolicy(exempt_procedures=frozenset({"1.001193"}))
TWO_ALLOWED = SupplementPolicy(allowed_requests=2)


@pytest.mark.parametrize(
    ("supplements", "finished", "policy", "expected"),
    [
        # the index: a process showing only supplement requests, more than one of them: late, however early
        (SECOND_UNANSWERED, None, INDEX, Verdict.LATE),
        (SECOND_UNANSWERED, vn(20, 9), INDEX, Verdict.LATE),  # stopped later: its clock still ended at the request
        # the index: requests answered, result made: judged on its times (Tuesday 16:00 − 2h <= Thursday 08:00)
        (TWO_ANSWERED, vn(3, 16), INDEX, Verdict.ON_TIME),
        (TWO_ANSWERED, vn(3, 16), EVERY, Verdict.LATE),  # a stricter provincial reading, as configuration
        (SECOND_UNANSWERED, None, NEVER, Verdict.ON_TIME),
        (SECOND_UNANSWERED, None, EXEMPT, Verdict.ON_TIME),  # a procedure whose law allows a second request
        (SECOND_UNANSWERED, None, TWO_ALLOWED, Verdict.ON_TIME),
    ],
    ids=["index-unanswered", "index-unanswered-then-stopped", "index-answered", "every-dossier", "none", "exempt",
         "two-allowed"],
)
def test_more_than_one_supplement_request_is_late_as_the_index_scopes_it(
    supplements: tuple[Supplement, ...], finished: datetime | None, policy: SupplementPolicy, expected: Verdict,
) -> None:
    """More than one supplement request makes late a dossier whose process shows only supplement requests; scope configurable (index 2.1: "trừ trường hợp 'Yêu cầu bổ sung hồ sơ' hơn 01 lần thì tính quá hạn")."""  # noqa: E501
    facts = ClockFacts(vn(2, 8), 3, vn(5, 8), finished, supplements, procedure_code="1.001193")
    assert judge(facts, vn(30, 23), CAL, policy) is expected


def test_a_supplement_asked_for_before_receipt_is_not_a_request_of_the_process() -> None:
    """A supplement asked for before receipt does not count: the clock starts at the resubmission, the receipt (index 2.1: start = "Ngày tiếp nhận hồ sơ")."""  # noqa: E501
    subject = walk(dossier(), (A.REQUEST_SUPPLEMENT, vn(2, 9), {"missing": "Bản sao CCCD"}), (A.RESUBMIT_SUPPLEMENT, vn(3, 9)),
                   (A.REQUEST_SUPPLEMENT, vn(4, 9), {"missing": "Ảnh 4x6"}))
    event = do(subject, A.STOP, vn(20, 9), reason="Không bổ sung")  # one request of the process: ends at it, in time
    assert (subject.verdict, event.on_time) == ("on_time", True)


# --- 4 ---------------------------------------------------------------------------------------------------------


def test_unfinished_dossiers_are_judged_at_the_end_of_the_reporting_period() -> None:
    """Unfinished at the period's end: within time counts on time, past due late; 2.1 = (finished on time + unfinished within time) / received (index 2.1: "Chưa có trạng thái hoàn thành → lấy ngày cuối kỳ báo cáo")."""  # noqa: E501
    assert month_end("2026-11") == datetime(2026, 11, 30, 16, 59, 59, 999999, tzinfo=UTC)  # 30 Nov 23:59:59.999999 +07
    within = received_dossier(vn(26, 9))  # due Tuesday 1 December 09:00: within time on 30 November
    late = received_dossier(vn(23, 9), id="dos-0002")  # due Thursday 26 November 09:00: late by 30 November
    finished = received_dossier(vn(23, 9), id="dos-0003")
    walk(finished, (A.APPROVE, vn(24, 9)), (A.MARK_RESULT_READY, vn(24, 10), {"result_reference": "KS-1"}))
    tables = InMemoryTables()
    for subject in (within, late, finished):
        tables.dossiers[subject.id] = subject
    counters = InMemoryCounters()
    counters.apply(ledger(within, late, finished))

    def close(now: datetime) -> Any:
        return close_month("2026-11", [COMMUNE.code], InMemoryDossiers(tables), counters, lambda _: CAL, now=now)

    result, again = close(vn(30, 23) + timedelta(hours=2)), close(vn(30, 23) + timedelta(hours=3))  # a rerun
    assert (result.within_time, result.late) == (again.within_time, again.late) == (1, 1)
    assert unfinished_at_month_end(finished, "2026-11", CAL) == {}  # finished by then: counted when it finished

    # Worked example: 3 received in November; 1 finished on time; at 30 November 1 within time and 1 past due:
    # 2.1 = (1 + 1) / 3 = 66.67% (finished-only, as the report gave before: 1 / 1 = 100%).
    catalogue = InMemoryCatalogue([COMMUNE], [])
    listings = InMemoryListings(catalogue)
    report = reports.kpi_report(COMMUNE.code, "2026-11", None, ADMIN, catalogue, listings, counters, [])
    assert report["on_time"] == {"received": 3, "finished_on_time": 1, "finished_late": 0, "unfinished_within_time": 1,
                                 "unfinished_late": 1, "period_closed": True}
    assert report["on_time_share"] == {"numerator": 2, "denominator": 3, "percent": 66.67}
    assert report["finished_on_time_share"] == {"numerator": 1, "denominator": 1, "percent": 100.0}
    # a quarter is judged at its end: the snapshot of its last month (December, not written yet: provisional)
    quarter = reports.kpi_report(COMMUNE.code, "2026-Q4", None, ADMIN, catalogue, listings, counters, [])
    assert quarter["on_time"]["period_closed"] is False and quarter["on_time_share"]["numerator"] == 1
    with pytest.raises(ValueError, match="not ended"):
        close(vn(30, 12))


# --- 5 ---------------------------------------------------------------------------------------------------------


def test_the_original_appointment_is_kept_beside_an_apology() -> None:
    """An apology sets a new appointment beside the original, may come before the due date, never turns a late dossier on time (index 2.1: "Ngày hẹn trả"; procedure texts: "không thể trả kết quả đúng thời gian đã hẹn")."""  # noqa: E501
    # 1 legal day, received Monday 08:00: appointment Tuesday 3 November 08:00
    late = received_dossier(vn(2, 8), legal_days=1)
    do(late, A.APOLOGISE, vn(4, 10), new_appointment_date="2026-11-06")
    assert (late.appointment_at, late.new_appointment_at, late.due_at) == (vn(3, 8), vn(6, 17), vn(6, 17))
    walk(late, (A.APPROVE, vn(5, 9)))
    event = do(late, A.MARK_RESULT_READY, vn(5, 10), result_reference="KS-1")  # before the new appointment
    assert (late.verdict, event.on_time) == ("late", False)  # judged against Tuesday 08:00

    early = received_dossier(vn(2, 8), legal_days=1, id="dos-0002")
    do(early, A.APOLOGISE, vn(2, 11), new_appointment_date="2026-11-06")  # before the due date: allowed
    walk(early, (A.APPROVE, vn(2, 15)))
    event = do(early, A.MARK_RESULT_READY, vn(2, 16), result_reference="KS-2")  # finished in time after all
    assert (early.appointment_at, early.verdict, event.on_time) == (vn(3, 8), "on_time", True)


# --- 6 ---------------------------------------------------------------------------------------------------------


def test_a_refusal_with_reasons_is_a_result() -> None:
    """A procedure's result may be a refusal with reasons; mark-result-ready issues an approved or a refused decision; stop stays for its legal cases (public procedure texts: a written reply stating the reasons is the result)."""  # noqa: E501
    subject = received_dossier(vn(2, 8))
    event = do(subject, A.REFUSE, vn(2, 10), reason="Không đủ điều kiện theo khoản 2 Điều 5")
    assert (subject.status, subject.decision, subject.decision_reason) == (S.PROCESSING, "refused",
                                                                        "Không đủ điều kiện theo khoản 2 Điều 5")
    assert event.event_type == EventType.DOSSIER_REFUSED
    assert dict(event.attributes) == {"reason": "Không đủ điều kiện theo khoản 2 Điều 5"}
    event = do(subject, A.MARK_RESULT_READY, vn(2, 11), result_reference="CV-15/UBND")
    assert (subject.status, event.on_time, subject.verdict) == (S.RESULT_READY, True, "on_time")
    assert counted(subject)[-3:] == ["processed", "finished|on_time=true", "result|electronic=false"]
    assert "refused" in counted(subject)
    approved = received_dossier(vn(2, 8), id="dos-0002")
    do(approved, A.APPROVE, vn(2, 10))
    assert (approved.decision, approved.decision_reason) == ("approved", None)
    stopped = received_dossier(vn(2, 8), id="dos-0003")
    assert do(stopped, A.STOP, vn(2, 10), reason="Người yêu cầu không bổ sung").status == "stopped"


def test_a_refusal_needs_its_reasons() -> None:
    from tests.unit.test_actions import refused

    assert refused(received_dossier(vn(2, 8)), A.REFUSE, vn(2, 10)).code == "PARAMETER_REQUIRED"


# --- 7 ---------------------------------------------------------------------------------------------------------

PROCEDURE = Procedure(
    code="1.001193", name="Đăng ký khai sinh", field="Hộ tịch", level=AgencyLevel.COMMUNE, department=None,
    online_form=OnlineForm.FULL, internal=False, fees=(FeeLine("Lệ phí", 0),), processing_time=ProcessingTime(3),
    required_documents=(DocumentType("to_khai", "Tờ khai"),), postal_result=True,
)


def filed(channel: Channel) -> Dossier:
    cmd = SubmitDossier(owner_id="user-1", procedure_code=PROCEDURE.code, agency_code=COMMUNE.code, channel=channel,
                        applicant=CITIZEN, documents=(Document("to_khai", "Tờ khai"),), result_delivery=ResultDelivery.DESK)
    return submit(cmd, PROCEDURE, COMMUNE, CAL, now=vn(2, 9), dossier_id=f"dos-{channel.value}", event_id="evt-00000001",
                  sequence=1, receiver=OFFICER)


@pytest.mark.parametrize("channel", [Channel.DIRECT, Channel.ONLINE_ASSISTED, Channel.POSTAL], ids=lambda c: c.value)
def test_every_received_dossier_has_a_receipt_event(channel: Channel) -> None:
    """Every received dossier has a DossierReceived event with its receipt time, whatever its channel; `received` counts them all (index 2.1 denominator: "hồ sơ được tiếp nhận")."""  # noqa: E501
    subject = filed(channel)
    assert (subject.status, subject.received_at) == (S.RECEIVED, vn(2, 9))
    receipt = subject.events[1]
    assert isinstance(receipt, DossierChanged) and receipt.event_type == EventType.DOSSIER_RECEIVED
    assert (receipt.event_id, receipt.occurred_at, receipt.channel) == ("evt-00000001:received", vn(2, 9), channel.value)
    assert (receipt.actor_id, receipt.actor_role) == (OFFICER.user_id, "officer")
    assert [m for m in counted(subject) if m.startswith("received")] == [f"received|channel={channel.value}"]


def test_online_dossiers_are_received_by_an_officer_or_at_the_resubmission() -> None:
    """Online filings are received by an officer, or at the resubmission of a supplement asked for before receipt; each once (index 2.1 denominator)."""  # noqa: E501
    online = filed(Channel.ONLINE)
    assert online.status is S.REGISTERED and counted(online) == [
        "filed|applicant=citizen|channel=online|form=full", "filed_online|procedure=1.001193"]
    do(online, A.RECEIVE, vn(2, 10))
    resubmitted = walk(dataclasses.replace(filed(Channel.ONLINE), events=[]),
                       (A.REQUEST_SUPPLEMENT, vn(2, 10), {"missing": "Bản sao CCCD"}), (A.RESUBMIT_SUPPLEMENT, vn(4, 10)))
    receipt = resubmitted.events[-1]
    assert receipt.event_type == EventType.DOSSIER_RECEIVED and receipt.occurred_at == vn(4, 10)
    assert [e.event_type for e in resubmitted.events] == [EventType.SUPPLEMENT_REQUESTED, EventType.SUPPLEMENT_RESUBMITTED,
                                                          EventType.DOSSIER_RECEIVED]
    for subject in (online, resubmitted):
        assert [m for m in counted(subject) if m.startswith("received")] == ["received|channel=online"]


@pytest.mark.parametrize(
    ("now", "month"),
    [(vn(1, 7), "2026-10"), (datetime(2026, 12, 31, 17, 30, tzinfo=UTC), "2026-12"), (vn(2, 7), None)],
    ids=["1-november", "1-january-vn", "2-november"],
)
def test_the_month_is_closed_on_the_first(now: datetime, month: str | None) -> None:
    """The month-end snapshot runs with the 07:00 deadline watch on the 1st (Vietnam time), closing the month just ended."""
    assert month_to_close(now) == month
