"""Pure domain layer of the end-user service: no I/O, no protobuf, no database.

- `model`: frozen dataclasses and enums (ChangeReport, Resolution, EndUseCheck, Consequence
  and its effects, the licence snapshot the rules need).
- `rules`: the decisions (accept_report, resolve, schedule_check, record_outcome,
  confirm_overdue, failure-to-report marking) returning new values plus a Consequence.
- `errors`: InvalidReport, IllegalTransition, LicenceClosed, NotPermitted (stc_common.errors
  subclasses).
"""
