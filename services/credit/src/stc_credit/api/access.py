"""Who may call each CreditService RPC (the access table; stc_common.auth.access).

A credit record or measure belongs to the authority whose officer imposed it (ECL
Arts. 33-39): only that authority repairs it or releases its publication hold, and only it
sees the directly responsible persons. A case belongs to the authority of the licence whose
end-use check opened it: only that authority sees and decides it. Another authority's case
or record answers NOT_FOUND and is filtered out of lists. Standings and personal bans bind
every authority (an Art. 39 ban refuses applications to all of them), so every officer
reads them.
"""

from stc_common.auth.access import AUDITOR, EXPORTER, OFFICER, rule

_PUBLIC = "what the law makes public (Art. 33 publicity) and its proofs"

ACCESS = {
    "RecordViolation": rule(OFFICER, writes=True, scope="the record is the officer's authority's"),
    "RecordMeasure": rule(OFFICER, writes=True, scope="the measure is the officer's authority's"),
    "ListCases": rule(OFFICER, AUDITOR, scope="filtered to the authority that opened the case"),
    "DecideCase": rule(OFFICER, writes=True, scope="the authority that opened the case"),
    "RepairRecord": rule(OFFICER, writes=True, scope="the authority that imposed the penalty"),
    "ReleasePublicationHold": rule(OFFICER, writes=True,
                                   scope="the authority that imposed the penalty"),
    "GetCreditStanding": rule(EXPORTER, OFFICER, AUDITOR, scope="exporter: its own USCC"),
    "ListCreditRecords": rule(EXPORTER, OFFICER, AUDITOR,
                              scope="exporter: its own USCC; officer: its authority's records"),
    "GetPersonBans": rule(OFFICER, AUDITOR, scope="Art. 39 bans bind every authority"),
    "ListPublications": rule(public=True, scope=_PUBLIC),
    "GetCheckpoint": rule(public=True, scope=_PUBLIC),
    "GetPublishedRecord": rule(public=True, scope=_PUBLIC),
    "GetConsistencyProof": rule(public=True, scope=_PUBLIC),
}
