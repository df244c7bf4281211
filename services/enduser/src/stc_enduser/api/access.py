"""Who may call each EndUserService RPC (the access table; stc_common.auth.access).

Change reports and end-use checks belong to the competent authority of the licence they
concern (ECL Arts. 16-17; Regulations Arts. 25-26): an officer of another authority finds
neither (NOT_FOUND) and lists only its own authority's. Exporters see their own licences'
reports, importers (Art. 16) the reports they made on the licence of their token.
"""

from stc_common.auth.access import AUDITOR, EXPORTER, IMPORTER, OFFICER, rule

_LICENCE = "officer: the licence's authority"

ACCESS = {
    "ReportChange": rule(EXPORTER, IMPORTER, writes=True,
                         scope="exporter: its licences; importer: the licence of its token"),
    "GetChangeReport": rule(EXPORTER, IMPORTER, OFFICER, AUDITOR,
                            scope=f"exporter: own; importer: reports it made; {_LICENCE}"),
    "ListChangeReports": rule(EXPORTER, IMPORTER, OFFICER, AUDITOR,
                              scope=f"filtered as GetChangeReport ({_LICENCE})"),
    "ResolveChange": rule(OFFICER, writes=True, scope=_LICENCE),
    "ScheduleEndUseCheck": rule(OFFICER, writes=True, scope=_LICENCE),
    "RecordEndUseCheckOutcome": rule(OFFICER, writes=True, scope=_LICENCE),
    "ConfirmOverdueCheck": rule(OFFICER, writes=True, scope=_LICENCE),
    "GetEndUseCheck": rule(OFFICER, AUDITOR, scope=_LICENCE),
    "ListEndUseChecks": rule(OFFICER, AUDITOR, scope=f"filtered ({_LICENCE})"),
}
