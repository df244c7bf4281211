"""The Art. 13 assessment as a use case: screening's result for an application puts it
UNDER_REVIEW with an assessment stored together with the snapshot of its inputs and the
policy version it ran under (by content hash), so any old assessment can be replayed and
checked (`replay_assessment`). The policy versions in use are loaded once at start-up."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from stc_common.errors import FailedPrecondition, NotFound
from stc_common.logging import get_logger

from stc_licensing import wire
from stc_licensing.domain.assessment import AssessmentSnapshot
from stc_licensing.domain.canonical import canonical_json, from_plain
from stc_licensing.domain.model import ApplicationState
from stc_licensing.domain.policy import Policy, policy_in_force
from stc_licensing.domain.states import Action, transition
from stc_licensing.events import outgoing
from stc_licensing.events.outgoing import publish
from stc_licensing.policy_files import bundled_embargoes_path, load_bundled_policies
from stc_licensing.service import (
    applications,
    commands,
    common,
    procedures,
    temporary_controls,
)
from stc_licensing.service.review import domain_application
from stc_licensing.storage.ports import LicensingUnitOfWork

log = get_logger("stc_licensing.service.assessment")
_POLICIES: tuple[Policy, ...] | None = None
_POLICY_JSON: dict[str, str] = {}


def configure_policies(embargoes_path: str | Path | None = None) -> tuple[Policy, ...]:
    """Load the bundled policy versions with the UNSC arms embargoes (Art. 13(2)) from
    `embargoes_path`, or from the table shipped with the package when it is empty; the
    service uses them from now on (main.py calls this at start-up from the settings)."""
    global _POLICIES
    _POLICIES = load_bundled_policies(embargoes_path or bundled_embargoes_path())
    return _POLICIES


def policies() -> tuple[Policy, ...]:
    """The policy versions in use (loaded once, with the bundled embargo table, unless
    `configure_policies` chose another)."""
    if _POLICIES is None:
        return configure_policies()
    return _POLICIES


def _policy_json(policy: Policy) -> str:
    """The canonical JSON of a policy version (kept by its content hash with assessments)."""
    if policy.content_hash not in _POLICY_JSON:
        _POLICY_JSON[policy.content_hash] = canonical_json(policy).decode()
    return _POLICY_JSON[policy.content_hash]


@dataclass(frozen=True)
class Replay:
    """An old assessment replayed from its snapshot under its own policy version."""

    assessment_id: str
    policy_version: str
    stored_inputs_hash: str
    inputs_hash: str
    stored_recommendation: str
    recommendation: str

    @property
    def reproduced(self) -> bool:
        """The same inputs hash and the same recommendation as when it was made."""
        return (self.inputs_hash == self.stored_inputs_hash
                and self.recommendation == self.stored_recommendation)


async def replay_assessment(*, uow: LicensingUnitOfWork, assessment_id: str) -> Replay:
    """Re-check an old assessment: read back the exporter's record, standing, screening and
    application it used and the policy version it ran under (by content hash), recompute its
    inputs hash and recommendation. Independent of today's record, standing and policy."""
    rec = await uow.assessments.record(assessment_id)
    if rec is None:
        raise NotFound("no such assessment", reason="ASSESSMENT_NOT_FOUND")
    if rec["inputs"] is None or rec["policy_content"] is None:
        raise FailedPrecondition("the assessment predates input snapshots (migration 0004)",
                                 reason="ASSESSMENT_NOT_REPLAYABLE")
    policy = common.stored_policy(rec["policy_content"])
    if policy.content_hash != rec["policy_hash"]:
        raise FailedPrecondition("the stored policy version does not match its hash",
                                 reason="POLICY_VERSION_CORRUPT")
    snapshot = from_plain(AssessmentSnapshot, json.loads(rec["inputs"]))
    again = snapshot.replay(policy)
    # issue 11 item 5: the temporary controls in force on the assessment's day, as it saw them
    again = await temporary_controls.apply_to_assessment(uow, snapshot.application, again,
                                                         snapshot.on_date)
    return Replay(assessment_id, policy.version, rec["inputs_hash"], again.inputs_hash,
                  rec["recommendation"], again.recommendation.value)


async def assess_application(*, uow: LicensingUnitOfWork, cmd: commands.AssessApplication
                             ) -> bool:
    """Screening completed for an application: UNDER_REVIEW, the Art. 13 assessment stored
    with its inputs hash and policy version, ApplicationAssessed published. False when not
    applicable (unknown application, or no longer screening: a stale or repeated result)."""
    row = await uow.applications.get(cmd.application_id, for_update=True)
    if row is None or row.state != ApplicationState.SCREENING:
        log.debug("application.screening_ignored", application_id=cmd.application_id,
                  state=row.state.value if row else None)
        return False
    waiting_since = row.updated_at  # accepted, or back to screening (issue 14 item 3)
    screening = cmd.outcome(row.content)
    found = await uow.operators.get(row.exporter_uscc)
    if found is None:
        raise FailedPrecondition(f"operator {row.exporter_uscc} of a stored application is gone",
                                 reason="OPERATOR_NOT_FOUND")
    standing = await uow.standings.get(row.exporter_uscc)
    day = common.today()
    policy = policy_in_force(policies(), day)
    snapshot = AssessmentSnapshot(domain_application(row), found[0], screening, standing, day)
    result = snapshot.replay(policy)
    # issue 11 item 5: items under a temporary control in force are controlled (Art. 9(2))
    result = await temporary_controls.apply_to_assessment(uow, snapshot.application, result, day)
    at = common.now()
    assessment_id = str(uuid.uuid4())
    body = wire.assessment_to_pb(result, assessment_id, at)
    await uow.assessments.add(
        assessment_id=assessment_id, application_id=row.id,
        screening_id=result.screening_id, recommendation=result.recommendation.value,
        policy_version=result.policy_version, policy_hash=result.policy_hash,
        inputs_hash=result.inputs_hash, assessed_on=day, assessed_at=at,
        body=body.SerializeToString(), inputs=canonical_json(snapshot).decode(),
        policy_content=_policy_json(policy))
    await procedures.after_assessment(uow, row.id, screening)  # issue 11: Reg. 26 time limit
    review = transition(row.state, Action.COMPLETE_ASSESSMENT)
    await common.record_steps(uow, row, [
        (review, "STATE_CHANGED", "screening completed; under review", None),
        (review, "ASSESSED", result.recommendation.value, assessment_id)])
    await publish(uow, outgoing.application_assessed(body, row.exporter_uscc))
    # the admission's input: how long this application awaited its assessment. Noted before
    # the consumer's transaction commits: a batch that rolls back and is redone notes it
    # twice, which at most nudges a window of 100 samples (batches rarely roll back)
    applications.ADMISSION.observe((at - waiting_since).total_seconds())
    log.info("application.assessed", application_id=row.id,
             recommendation=result.recommendation.value, policy=result.policy_version)
    return True
