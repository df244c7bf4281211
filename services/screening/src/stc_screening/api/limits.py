"""The screening service's request limits: the one table the edge enforces (issue 10).

Defaults (stc_common.grpc.limits.FieldLimits): 256 characters a string, 20 entries a
repeated field or map, no control characters; the shared types (Party, Item, EndUse …) come
from `stc_common.grpc.limits.SHARED_*`. Names below are relative to `stc.screening.v1`.
The counts also bound the matching work of one request (aliases × entries, ECL Art. 18 list
screening): at most 20 parties of 10 aliases each in ScreenTransaction.
"""

from stc_common.grpc.limits import service_limits

_TEXT = 4000  # free-form text: reasons, answers, questions (tab and newline allowed)
_FREE = (
    "AddCountryMeasureRequest.reason",
    "AddListEntryRequest.reason",
    "UpdateListEntryRequest.reason",
    "RemoveListEntryRequest.reason",
    "SuspendCountryMeasureRequest.reason",
    "AnswerConsultationRequest.answer",
    "SubmitConsultationRequest.question",
    "SubmitConsultationRequest.item_description",
    "ClassifyItemRequest.description",
    "ListEntry.remarks",
    "ListEntry.addresses",
)

LIMITS = service_limits(
    "stc.screening.v1",
    strings={
        **{name: _TEXT for name in _FREE},
        "ClassifyItemRequest.description": 2000,
        "SubmitConsultationRequest.item_description": 2000,
        "ListEntry.addresses": 500,
        "ListEntry.aliases": 300,
        "ListEntry.primary_name": 300,
        "ListEntry.legal_basis": 500,
        "ListEntry.announcement": 500,
        "CountryMeasure.announcement": 500,
        "CountryMeasure.basis": 500,
        "CountryMeasure.title_en": 500,
        "CountryMeasure.title_zh": 500,
        "SearchListEntriesRequest.query": 300,
        "ClassifyItemRequest.ParametersEntry.key": 64,
        "ClassifyItemRequest.ParametersEntry.value": 200,
        "SubmitConsultationRequest.ParametersEntry.key": 64,
        "SubmitConsultationRequest.ParametersEntry.value": 200,
        "AddListEntryRequest.request_id": 128,
        "AddCountryMeasureRequest.request_id": 128,
        "SubmitConsultationRequest.request_id": 128,
    },
    items={
        "ListEntry.aliases": 50,
        "ListEntry.addresses": 10,
        "ListEntry.identifiers": 20,
        "ListEntry.countries": 10,
        "ListEntry.programs": 10,
        "ScreenTransactionRequest.parties": 10,
        "ScreenPartiesRequest.parties": 1000,
        "ScreenTransactionRequest.items": 20,
        "ClassifyItemRequest.parameters": 10,
        "SubmitConsultationRequest.parameters": 10,
        "CountryMeasure.item_codes": 50,
    },
    free_text=_FREE,
)
