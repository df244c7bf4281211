"""Who may call each ScreeningService RPC (the access table; stc_common.auth.access).

The PRC control list, watch list and unreliable entity list (ECL Art. 18) and the country
measures for dual-use items (Art. 8, Art. 12(3)) are kept by MOFCOM: only its officers add,
change or remove them; an officer of another authority is PERMISSION_DENIED. Consultations
(Art. 12(4)) go to the authority the exporter addressed: another authority's consultation
answers NOT_FOUND, another exporter's too.
"""

from stc_common.auth.access import AUDITOR, EXPORTER, OFFICER, rule
from stc_common.auth.jwt import Authority

_MOFCOM = (Authority.MOFCOM,)
_LISTS = "PRC lists only (Art. 18); MOFCOM keeps them"

ACCESS = {
    "SearchListEntries": rule(public=True, scope="published lists"),
    "GetListEntry": rule(public=True, scope="published lists"),
    "AddListEntry": rule(OFFICER, authorities=_MOFCOM, writes=True, scope=_LISTS),
    "UpdateListEntry": rule(OFFICER, authorities=_MOFCOM, writes=True, scope=_LISTS),
    "RemoveListEntry": rule(OFFICER, authorities=_MOFCOM, writes=True, scope=_LISTS),
    "ScreenParty": rule(EXPORTER, OFFICER, AUDITOR, scope="computes over public lists"),
    "ScreenParties": rule(EXPORTER, OFFICER, AUDITOR, scope="computes over public lists"),
    "ScreenTransaction": rule(EXPORTER, OFFICER, AUDITOR, scope="computes over public lists"),
    "ClassifyItem": rule(EXPORTER, OFFICER, AUDITOR, scope="computes over public lists"),
    "SubmitConsultation": rule(EXPORTER, writes=True, scope="for the token's USCC"),
    "GetConsultation": rule(EXPORTER, OFFICER, AUDITOR,
                            scope="exporter: its own; officer: routed to its authority"),
    "ListConsultations": rule(OFFICER, AUDITOR, scope="filtered to the officer's authority"),
    "AnswerConsultation": rule(OFFICER, writes=True,
                               scope="the consultation's authority (Art. 12(4))"),
    "AddCountryMeasure": rule(OFFICER, authorities=_MOFCOM, writes=True,
                              scope="dual-use country measures (Art. 8)"),
    "ListCountryMeasures": rule(public=True, scope="announced measures"),
    "SuspendCountryMeasure": rule(OFFICER, authorities=_MOFCOM, writes=True,
                                  scope="dual-use country measures (Art. 8)"),
}
