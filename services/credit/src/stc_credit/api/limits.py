"""The credit service's request limits: the one table the edge enforces (issue 10).

Defaults (stc_common.grpc.limits.FieldLimits): 256 characters a string, 20 entries a
repeated field or map, no control characters. Names below are relative to `stc.credit.v1`.
A credit record (ECL Art. 39) is published as it is recorded, so these bound the publicity
feed's entries too.
"""

from stc_common.grpc.limits import service_limits

_TEXT = 4000  # free-form text (tab and newline allowed)
_FREE = (
    "DecideCaseRequest.reason",
    "RecordViolationRequest.publication_hold_reason",
    "Penalty.sanctions",
)

LIMITS = service_limits(
    "stc.credit.v1",
    strings={
        **{name: _TEXT for name in _FREE},
        "Penalty.sanctions": 1000,
        "RecordViolationRequest.enterprise_name": 300,
        "RecordViolationRequest.decision_sha256": 64,
        "RecordViolationRequest.request_id": 128,
        "RecordMeasureRequest.request_id": 128,
        "RepairRecordRequest.request_id": 128,
        "ResponsiblePerson.name": 300,
        "ResponsiblePerson.id_number": 64,
    },
    items={
        "Penalty.sanctions": 10,
        "RecordViolationRequest.responsible_persons": 20,
    },
    free_text=_FREE,
)
