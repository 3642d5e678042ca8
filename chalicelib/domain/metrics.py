"""Counter metrics: the one grammar (`name|label=value|…`) the counting side writes and the report side reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

_SEPARATORS = ("|", "=")

# The metric names a report reads by name; every other metric an event type feeds is a lifecycle count.
FILED = "filed"  # labelled by channel and online form: the filing figures
FINISHED = "finished"  # labelled on_time: the on-time share
RATED = "rated"  # labelled by rating
RECEIVED = "received"  # labelled by channel: every received dossier, the denominator of the on-time rule (index 2.1)
UNFINISHED = "unfinished"  # labelled on_time: open dossiers judged at the end of a month (the month-end snapshot)
PERIOD_CLOSED = "period_closed"  # 1 once the month-end snapshot of an agency's own open dossiers is written
PAYMENT = "payment"  # labelled via (online | desk): every payment transaction that took money
PAID_ONLINE_DOSSIER = "dossier_paid_online"  # a dossier's first successful online payment: dossiers paid online
PAID_ONLINE_PROCEDURE = "paid_online"  # labelled procedure: a procedure with any online payment has a counter > 0
PAYMENT_REQUESTED = "payment_requested"  # labelled gateway: online payments asked for (the funnel's first step)
FEE_BEARING = "fee_bearing"  # a dossier filed with non-zero fees: the denominator of index 3.6
PAYMENT_METRICS = frozenset({PAYMENT, PAID_ONLINE_DOSSIER, PAID_ONLINE_PROCEDURE, PAYMENT_REQUESTED, FEE_BEARING})
"""Read by the report's payment figures, not among its lifecycle counts."""
SHIPMENT_REQUESTED = "shipment_requested"  # labelled kind (pickup | return): shipments asked of the postal partner
SHIPMENT_DELIVERED = "shipment_delivered"  # labelled kind and late (after its J+n day)
SHIPMENT_RETURNED = "shipment_returned"  # labelled kind: returned to sender
POSTAL_METRICS = frozenset({SHIPMENT_REQUESTED, SHIPMENT_DELIVERED, SHIPMENT_RETURNED})
"""Read by the report's postal figures, not among its lifecycle counts."""
FILED_ONLINE_PROCEDURE = "filed_online"  # labelled procedure: an online service with a counter > 0 received a dossier
RESULT = "result"  # labelled electronic (true | false): results made (index 4.1)
RESULT_DIGITISED = "result_digitised"  # results of dossiers whose every component is a file (index 4.2)
INDEX_METRICS = frozenset({FILED_ONLINE_PROCEDURE, RESULT, RESULT_DIGITISED})
"""Read by the national index's items (`domain/index766.py`), not among the lifecycle counts."""
NOT_LIFECYCLE = PAYMENT_METRICS | INDEX_METRICS | POSTAL_METRICS


@dataclass(frozen=True, order=True)
class Metric:
    """A count's name and its labels, e.g. `filed|channel=online|form=full`. Labels are kept sorted by name, so a
    metric has exactly one text and `Metric.parse(str(m)) == m`."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        parts = [self.name, *(part for label in self.labels for part in label)]
        blank = not self.name or any(not label for label, _ in self.labels)
        if blank or any(sep in part for part in parts for sep in _SEPARATORS):
            raise ValueError(f"not a metric: {self.name!r} {self.labels!r}")
        if list(self.labels) != sorted(dict(self.labels).items()):
            raise ValueError(f"labels must be unique and sorted: {self.labels!r}")

    @classmethod
    def of(cls, name: str, /, **labels: str) -> Metric:
        return cls(name, tuple(sorted(labels.items())))

    @classmethod
    def parse(cls, text: str) -> Metric:
        """The metric a stored counter's text names; ValueError if it is not in the grammar."""
        return _parse(text)

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)

    def __str__(self) -> str:
        return "|".join([self.name, *(f"{label}={value}" for label, value in self.labels)])


@lru_cache(maxsize=1 << 16)
def _parse(text: str) -> Metric:
    """`Metric.parse`, remembered: a report parses the same few hundred texts for every agency and month it reads,
    and a `Metric` is immutable. (An error is not remembered: the text is parsed again, and refused again.)"""
    name, *labels = text.split("|")
    pairs = [tuple(label.split("=", 1)) for label in labels]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"not a metric: {text!r}")
    return Metric(name, tuple(sorted((label, value) for label, value in pairs)))


def label_value(value: object) -> str | None:
    """A field's value as a label: enums by value, booleans as `true`/`false`; None means "not counted"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


@dataclass(frozen=True)
class Count:
    """A registry row's "this event type adds 1 to metric `name`", each label taken from a field of the event or
    of its payload: `Count.of("returned", via="via")`. An event whose labelling field is None does not feed it."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()  # (label, field)
    when: str | None = None  # a boolean field: only events where it is true feed the metric

    @classmethod
    def of(cls, name: str, /, **labels: str) -> Count:
        return cls(name, tuple(sorted(labels.items())))

    def only_when(self, field: str) -> Count:
        """This count, fed only by events whose boolean `field` (of the event or its payload) is true."""
        return Count(self.name, self.labels, field)
