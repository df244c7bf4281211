"""The end-user service's request limits: the one table the edge enforces (issue 10).

Defaults (stc_common.grpc.limits.FieldLimits): 256 characters a string, 20 entries a
repeated field or map, no control characters; the shared types (Party, DocumentReference)
come from `stc_common.grpc.limits.SHARED_*`. Names below are relative to `stc.enduser.v1`.
"""

from stc_common.grpc.limits import service_limits

_TEXT = 4000  # free-form text: details of a change (ECL Art. 16), check findings (Art. 17)
_FREE = (
    "ReportChangeRequest.details",
    "ReportChangeRequest.new_end_use",
    "RecordEndUseCheckOutcomeRequest.details",
    "ConfirmOverdueCheckRequest.details",
    "ResolveChangeRequest.reasons",
)

LIMITS = service_limits(
    "stc.enduser.v1",
    strings={
        **{name: _TEXT for name in _FREE},
        "ResolveChangeRequest.reasons": 2000,
        "ReportChangeRequest.request_id": 128,
    },
    items={
        "ReportChangeRequest.documents": 20,
        "ResolveChangeRequest.reasons": 10,
    },
    free_text=_FREE,
)
