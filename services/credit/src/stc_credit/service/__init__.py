"""Use cases of the credit service, split by business area; one transaction each.

Every use case takes a `CreditUnitOfWork` (typed repositories over one open transaction)
and a frozen command (commands.py), writes its state change, its log entries and
checkpoints, and the events announcing them (events/outgoing.py) in that one transaction,
and returns domain objects: nothing is published that was not stored, nothing stored goes
unannounced. Areas: records.py (penalties and measures, ECL Arts. 30, 33-39),
publication.py (the publicity log, repair, ended publicity), cases.py (end-use check
findings, officers' decisions), standing.py (the enterprise's standing).
"""
