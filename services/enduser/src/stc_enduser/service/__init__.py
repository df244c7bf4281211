"""Use cases of the end-user service, one transaction each, split by business area.

Every use case takes the unit of work (`EndUserUnitOfWork`: typed repositories and the
outbox) and a frozen command, loads what it needs, asks the domain rules, stores the result
and writes its event (events/outgoing.py) in the same transaction, and returns domain
objects. Domain errors (stc_common.errors subclasses) pass through unchanged. Visibility:
an exporter sees only its own licences' reports (another tenant's answers NOT_FOUND);
officers see and act on the reports and checks of their own authority's licences only
(ECL Arts. 16-17): another authority's report, check or licence answers NOT_FOUND, as
another tenant's does (the access table is api/access.py). Areas: reports.py (change
reports, Art. 16 / Reg. 25), checks.py (end-use checks, Art. 17 / Reg. 26).
"""
