"""The catalogue on DynamoDB Local: every agency and every procedure is listed in its partition and read back by a
paged Query (the deployed policy allows no Scan)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.catalogue import Agency, agency_to_data
from chalicelib.domain.catalogue_search import fold
from chalicelib.domain.vocabulary import AgencyLevel
from chalicelib.store.catalogue import (
    AGENCY_LISTING_PK,
    CatalogueListingRepository,
    CatalogueRepository,
    agency_listing_key,
    procedure_listing_key,
)
from chalicelib.store.models import CatalogueModel
from infra.local.stack import LocalStack
from infra.seed import agencies, procedures


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
    assert (entry.pk, entry.data) == (AGENCY_LISTING_PK, agency_to_data(CatalogueRepository().agency("T99.C00003")))


def test_saving_again_lists_an_agency_once(stack: LocalStack) -> None:
    agency = Agency("T98.00", "Trung tâm thử", AgencyLevel.PROVINCE, "service_centre", ("T98", "T98.00"))
    CatalogueRepository.save_all([agency], [])
    CatalogueRepository.save_all([agency], [])
    assert CatalogueRepository.agency_codes().count("T98.00") == 1


def test_every_seeded_procedure_is_listed_with_its_folded_name(stack: LocalStack) -> None:
    listed = {entry.procedure.code: entry for entry in CatalogueListingRepository(page_size=4).listed_procedures()}
    for procedure in procedures():
        assert listed[procedure.code].procedure == procedure
        assert listed[procedure.code].search_key == fold(procedure.name)
    assert list(listed) == sorted(listed)


def test_the_agency_tree_is_read_from_the_listing_entries(stack: LocalStack) -> None:
    seeded = {a.code: a for a in agencies(46)}
    read = {a.code: a for a in CatalogueListingRepository(page_size=7).agencies()}
    assert all(read[code] == agency for code, agency in seeded.items())


def test_a_listing_entry_written_before_it_carried_the_agency_is_completed_from_the_agency_item(stack: LocalStack) -> None:
    agency = Agency("T97.C00001", "UBND xã cũ", AgencyLevel.COMMUNE, "commune", ("T97", "T97.C00001"))
    CatalogueRepository.save_all([agency], [])
    CatalogueModel(*agency_listing_key(agency.code), data={"code": agency.code}).save()  # the old shape
    assert agency in CatalogueListingRepository().agencies()


def test_a_listing_is_kept_per_container_until_its_ttl(stack: LocalStack) -> None:
    clock = [0.0]
    listings = CatalogueListingRepository(ttl_s=60, monotonic=lambda: clock[0])
    before = listings.listed_procedures()
    renamed = replace(before[0].procedure, name="Thủ tục đổi tên ĐỂ THỬ")
    CatalogueRepository.save_all([], [renamed])
    try:
        assert listings.listed_procedures()[0] == before[0]  # still cached
        clock[0] = 61
        assert listings.listed_procedures()[0].search_key == "thu tuc doi ten de thu"
        assert CatalogueModel.get(*procedure_listing_key(renamed.code)).data["search_key"] == "thu tuc doi ten de thu"
    finally:
        CatalogueRepository.save_all([], [before[0].procedure])
