"""The pure domain layer of the licensing service: frozen dataclasses, state enums and pure
functions. No database, Kafka, gRPC or protobuf, and no file I/O (policy files are read by
stc_licensing.policy_files).

Modules and their entry points:

- model: ExportOperator (+ MilitaryQualification, IcpElementAssessment, IcpAudit),
  ApplicationContent (+ Item, Money, Party, PartyIdentifier, EndUse, EndUserCertificate,
  CatchAllDeclaration), Application, the enums, `party_key`.
- inputs: ScreeningOutcome (PartyHit, DestinationFinding, RedFlag), CreditStanding.
- validation: `validate_submission(content, operator, standing, today, control_list=None)
  -> list[FieldViolation]`, `certificate_required(content)`.
- routing: `route(content) -> Routing`, `competent_authority(regime) -> Authority`.
- states: `transition(state, action, *, reconsideration_used=False)`, `allowed_actions`,
  `check_amendment(old, new)` (AmendmentRefused "re-apply"), `key_element_changes`.
- clock: `clock_status(accepted_on, as_of, pauses=(), limit=45) -> ClockStatus`,
  `initial_deadline(accepted_on)`, Pause.
- policy: Policy, `policy_from_dict`, `with_embargoes`, `policy_in_force(policies, on_date)`
  (the files are read by stc_licensing.policy_files).
- assessment: `assess(application, operator, screening, standing, policy, on_date)
  -> Assessment` (Art. 13 factors, recommendation, Art. 14 general-licence eligibility).
- licence: `issue_licence`, `record_export`, `suspend`, `reinstate`, `revoke`, `expire`,
  `is_due_to_expire`, `place_on_hold`, `release_hold`.
- errors: IllegalTransition, AmendmentRefused, LicenceRefused, PolicyError, NoPolicyInForce
  — stc_common ServiceErrors that carry their gRPC status (no separate mapping step).
"""
