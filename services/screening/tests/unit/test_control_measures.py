"""ECL Art. 18: a control-list designation carries its measure (prohibit, restrict, suspend)
from the officer's entry to the stored entry and to every hit licensing assesses."""

from __future__ import annotations

import pytest
from stc.screening.v1 import events_pb2 as ev
from stc_screening.api import mapping as m
from stc_screening.domain.control_measures import control_measure, with_measure
from stc_screening.domain.lists import ListEntry, ListKind
from stc_screening.domain.matching import Decision, Hit


def _entry(kind=ListKind.CONTROL_LIST, programs=()):
    return ListEntry("prc:control:7", kind, ("Example Defense Corp",), programs=programs)


def test_art18_control_list_entry_without_a_measure_is_prohibit():
    assert control_measure(_entry()) == "PROHIBIT"
    assert control_measure(_entry(ListKind.WATCH_LIST)) is None
    assert control_measure(_entry(ListKind.OFAC_SDN, ("MEASURE:RESTRICT",))) is None


@pytest.mark.parametrize("pb,name", [(ev.CONTROL_MEASURE_RESTRICT, "RESTRICT"),
                                     (ev.CONTROL_MEASURE_SUSPEND, "SUSPEND"),
                                     (ev.CONTROL_MEASURE_PROHIBIT, "PROHIBIT")])
def test_art18_officers_measure_round_trips_and_reaches_the_hit(pb, name):
    msg = ev.ListEntry(list_kind=ev.LIST_KIND_CONTROL_LIST, primary_name="Example Defense Corp",
                       programs=["ANNOUNCEMENT-2026-1"], control_measure=pb)
    entry = m.entry_from_pb(msg, entry_id="prc:control:7", source="officer")
    assert control_measure(entry) == name
    assert "ANNOUNCEMENT-2026-1" in entry.programs
    assert m.entry_to_pb(entry).control_measure == pb
    hit = Hit(entry_id="prc:control:7", list_kind=ListKind.CONTROL_LIST,
              legal_basis=entry.legal_basis, score=0.99, decision=Decision.MATCH,
              name_match=None)
    assert m.hit_to_pb(hit, entry=entry).control_measure == pb


def test_art18_changing_the_measure_replaces_it_and_changes_the_content_hash():
    restricted = _entry(programs=with_measure((), "RESTRICT"))
    suspended = _entry(programs=with_measure(restricted.programs, "SUSPEND"))
    assert suspended.programs == ("MEASURE:SUSPEND",)
    assert restricted.content_hash != suspended.content_hash
    with pytest.raises(ValueError):
        with_measure((), "WARN")


def test_art18_an_entry_sent_back_as_read_is_unchanged():
    """UpdateListEntry with the entry GetListEntry returned (control_measure PROHIBIT, the
    default) changes nothing: same programs, same content hash, no re-screening."""
    entry = _entry(programs=("ANNOUNCEMENT-2026-1",))
    read = m.entry_to_pb(entry)
    assert read.control_measure == ev.CONTROL_MEASURE_PROHIBIT
    again = m.entry_from_pb(read, entry_id=entry.entry_id, source="")
    read.ClearField("control_measure")
    plain = m.entry_from_pb(read, entry_id=entry.entry_id, source="")
    assert again.programs == entry.programs
    assert again.content_hash == plain.content_hash
