"""The catalogue on DynamoDB Local: every agency is listed in one partition and read back by a paged Query."""

from __future__ import annotations

from chalicelib.domain.catalogue import Agency
from chalicelib.domain.vocabulary import AgencyLevel
from chalicelib.store.catalogue import AGENCY_LISTING_PK, CatalogueRepository, agency_listing_key
from chalicelib.store.models import CatalogueModel
from infra.local.stack import LocalStack
from infra.seed import agencies


def test_every_seeded_agency_is_listed(stack: LocalStack) -> None:
    seeded = {a.code for a in agencies(46)}
    listed = CatalogueRepository.agency_codes()
    assert seeded <= set(listed) and listed == sorted(listed)
    assert len(listed) == len(set(listed))


def test_saved_agencies_are_listed_and_read_back_across_pages(stack: LocalStack) -> None:
    extra = [
        Agency(f"T99.C{n:05d}", f"UBND xã thử {n}", AgencyLevel.COMMUNE, "commune", ("T99", f"T99.C{n:05d}"))
        for n in range(7)
    ]
    assert CatalogueRepository.save_all(extra, []) == 7
    paged = CatalogueRepository.agency_codes(page_size=2)  # many pages: the query follows LastEvaluatedKey
    assert {a.code for a in extra} <= set(paged)
    assert paged == CatalogueRepository.agency_codes()
    assert CatalogueRepository().agency("T99.C00003").name == "UBND xã thử 3"
    entry = CatalogueModel.get(*agency_listing_key("T99.C00003"))
    assert (entry.pk, entry.data) == (AGENCY_LISTING_PK, {"code": "T99.C00003"})


def test_saving_again_lists_an_agency_once(stack: LocalStack) -> None:
    agency = Agency("T98.00", "Trung tâm thử", AgencyLevel.PROVINCE, "service_centre", ("T98", "T98.00"))
    CatalogueRepository.save_all([agency], [])
    CatalogueRepository.save_all([agency], [])
    assert CatalogueRepository.agency_codes().count("T98.00") == 1
