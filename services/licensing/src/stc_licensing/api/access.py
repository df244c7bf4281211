"""Who may call each LicensingService RPC (the access table; stc_common.auth.access).

Applications and licences belong to the competent authority they were routed to (ECL
Art. 5; routing.py): an officer of another authority finds neither (NOT_FOUND), another
exporter neither. Military export qualifications are SASTIND's (Art. 23). An ICP audit
(Art. 14) is recorded by MOFCOM or by the authority competent for the exporter's regime:
one to which it has applied, or SASTIND for a military-qualified exporter.
"""

from stc_common.auth.access import AUDITOR, EXPORTER, OFFICER, rule
from stc_common.auth.jwt import Authority

_APP = "exporter: its own; officer: the application's authority"
_LIC = "exporter: its own; officer: the licence's authority"

ACCESS = {
    "RegisterOperator": rule(EXPORTER, OFFICER, writes=True, scope="exporter: its own USCC"),
    "GetOperator": rule(EXPORTER, OFFICER, AUDITOR, scope="exporter: its own USCC"),
    "UpdateIcpSelfAssessment": rule(EXPORTER, writes=True, scope="its own USCC"),
    "RecordIcpAudit": rule(OFFICER, writes=True,
                           scope="MOFCOM, or the authority of the exporter's regime"),
    "SetMilitaryQualification": rule(OFFICER, authorities=(Authority.SASTIND,), writes=True,
                                     scope="Art. 23"),
    "SubmitApplication": rule(EXPORTER, writes=True, scope="for the token's USCC"),
    "GetApplication": rule(EXPORTER, OFFICER, AUDITOR, scope=_APP),
    "ListApplications": rule(EXPORTER, OFFICER, AUDITOR, scope=f"filtered ({_APP})"),
    "WithdrawApplication": rule(EXPORTER, writes=True, scope="its own"),
    "AmendApplication": rule(EXPORTER, writes=True, scope="its own"),
    "WatchApplication": rule(EXPORTER, OFFICER, AUDITOR, scope=_APP),
    "GetAssessment": rule(EXPORTER, OFFICER, AUDITOR, scope=_APP),
    "RequestReconsideration": rule(EXPORTER, writes=True, scope="its own"),
    "ListReviewQueue": rule(OFFICER, AUDITOR, scope="filtered to the officer's authority"),
    "RequestInformation": rule(OFFICER, writes=True, scope="the application's authority"),
    "DecideApplication": rule(OFFICER, writes=True, scope="the application's authority"),
    "StartExpertReview": rule(OFFICER, writes=True, scope="the application's authority"),
    "EndExpertReview": rule(OFFICER, writes=True, scope="the application's authority"),
    "ReferApplication": rule(OFFICER, writes=True, scope="the application's authority"),
    "EndReferral": rule(OFFICER, writes=True, scope="the application's authority"),
    "AcceptApplication": rule(OFFICER, writes=True, scope="the application's authority"),
    "ReturnApplication": rule(OFFICER, writes=True, scope="the application's authority"),
    "ResubmitApplication": rule(EXPORTER, writes=True, scope="its own"),
    "RecordMilitaryApproval": rule(OFFICER, authorities=(Authority.SASTIND,), writes=True,
                                   scope="Art. 24"),
    "GetLicence": rule(EXPORTER, OFFICER, AUDITOR, scope=_LIC),
    "ListLicences": rule(EXPORTER, OFFICER, AUDITOR, scope=f"filtered ({_LIC})"),
    "RecordExport": rule(EXPORTER, OFFICER, writes=True, scope=_LIC),
    "SuspendLicence": rule(OFFICER, writes=True, scope="the licence's authority"),
    "ReinstateLicence": rule(OFFICER, writes=True, scope="the licence's authority"),
    "RevokeLicence": rule(OFFICER, writes=True, scope="the licence's authority"),
    # a State Council announcement binds every authority: any authority's officer enters it,
    # and the entry records which authority and officer did (issue 11 item 3)
    "EnterHolidaySchedule": rule(OFFICER, writes=True,
                                 scope="any authority; recorded with the officer's"),
    "ListHolidaySchedules": rule(EXPORTER, OFFICER, AUDITOR, scope="public calendar"),
    # Art. 9(2) temporary controls: announced by MOFCOM (issue 11 item 5)
    "CreateTemporaryControl": rule(OFFICER, authorities=(Authority.MOFCOM,), writes=True,
                                   scope="Art. 9(2)"),
    "ListTemporaryControls": rule(EXPORTER, OFFICER, AUDITOR, scope="the public register"),
    "DecideTemporaryControl": rule(OFFICER, authorities=(Authority.MOFCOM,), writes=True,
                                   scope="Art. 9(2): cancel, extend or list"),
    # Arts. 45, 44 de minimis rules applied to a described re-export; stores nothing
    "EvaluateReExport": rule(EXPORTER, OFFICER, AUDITOR, scope="the published rules"),
}
