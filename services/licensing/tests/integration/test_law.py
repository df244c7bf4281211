"""The law as the running service applies it (issue 11): each test is named after the
provision it checks and runs against the real service, Kafka and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from stc.common.v1 import common_pb2
from stc.licensing.v1 import application_pb2 as apb
from stc.licensing.v1 import events_pb2
from stc.licensing.v1 import licensing_service_pb2 as spb
from stc_common.grpc.errors import error_reason
from stc_common.testing.service import bearer

pytestmark = pytest.mark.integration
MOFCOM = bearer("officer", authority="MOFCOM")


def _libyan_parties():
    """An importer and an end user in Libya that are on no list."""
    return [
        common_pb2.Party(role=common_pb2.PARTY_ROLE_IMPORTER, name="Tripoli Hardware Trading",
                         country="LY"),
        common_pb2.Party(role=common_pb2.PARTY_ROLE_END_USER,
                         name="Misrata Tool Works", country="LY"),
    ]


async def test_art13_2_running_service_applies_the_unsc_arms_embargo(env, h):
    """Art. 13(2) and (5): a dual-use application to a destination under a full UN arms
    embargo, with parties screening found on no list, is flagged by the policy the running
    service loaded from its settings (the bundled UNSC table), not granted with conditions."""
    uscc = await env.operator()
    app = await env.submit(uscc, h.content(uscc, destination="LY", parties=_libyan_parties()))
    await env.screen(app)  # clean: no party hits, no destination findings
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    a = await env.stub.GetAssessment(
        spb.GetAssessmentRequest(application_id=app.application_id), metadata=MOFCOM)
    codes = {f.code for factor in a.factors for f in factor.findings}
    assert "F2-UN-ARMS-EMBARGO" in codes and "F5-EMBARGOED-DESTINATION" in codes
    assert a.recommendation not in (events_pb2.RECOMMENDATION_GRANT,
                                    events_pb2.RECOMMENDATION_GRANT_WITH_CONDITIONS)

    # the same application to Germany is not touched by the embargo table
    de = await env.submit(uscc)
    await env.screen(de)
    await env.wait_state(de.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    b = await env.stub.GetAssessment(
        spb.GetAssessmentRequest(application_id=de.application_id), metadata=MOFCOM)
    assert not {f.code for factor in b.factors for f in factor.findings} & {
        "F2-UN-ARMS-EMBARGO", "F5-EMBARGOED-DESTINATION"}


async def test_art41_reconsideration_has_its_own_due_day_not_the_reg17_clock(env, h):
    """Art. 41 with the Administrative Reconsideration Law: a refused application under
    reconsideration shows its due day (60 days after the request) and is not breached by the
    ticker's Reg. 17 round (the stored row carries the dates: migration 0003)."""
    uscc = await env.operator()
    app = await env.submit(uscc)
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    await env.stub.DecideApplication(spb.DecideApplicationRequest(
        application_id=app.application_id, decision=events_pb2.DECISION_DENY,
        reasons=["end use not credible"]), metadata=MOFCOM)
    r = await env.stub.RequestReconsideration(spb.RequestReconsiderationRequest(
        application_id=app.application_id, grounds="new end-use evidence"),
        metadata=bearer("exporter", uscc=uscc))
    assert r.state == apb.APPLICATION_STATE_RECONSIDERATION
    (row,) = await env.sql(
        "SELECT decided_on, reconsideration_requested_on, reconsideration_due, deadline,"
        " breach_reported FROM applications WHERE id = $1", app.application_id)
    assert (row["reconsideration_due"] - row["reconsideration_requested_on"]).days == 60
    assert row["decided_on"] <= row["reconsideration_requested_on"]
    assert row["deadline"] == row["reconsideration_due"] and not row["breach_reported"]
    due = row["reconsideration_due"]
    assert (r.reconsideration_due.year, r.reconsideration_due.month,
            r.reconsideration_due.day) == (due.year, due.month, due.day)


async def test_art14_officer_cannot_issue_a_general_licence_the_assessment_rules_out(env, h):
    """Art. 14: a new exporter (no ICP, no audit, no export history) asks for a general
    licence; the running service refuses the officer's approval with FAILED_PRECONDITION
    naming the reasons, and issues no licence."""
    uscc = await env.operator()
    app = await env.submit(uscc, h.content(uscc, licence_type=apb.LICENCE_TYPE_GENERAL))
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await env.stub.DecideApplication(spb.DecideApplicationRequest(
            application_id=app.application_id, decision=events_pb2.DECISION_APPROVE),
            metadata=MOFCOM)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(err.value) == "GENERAL_LICENCE_NOT_ELIGIBLE"
    assert "Art. 14" in err.value.details() and "GL-ICP-NOT-AUDITED" in err.value.details()
    (n,) = await env.sql("SELECT count(*) FROM licences WHERE application_id = $1",
                         app.application_id)
    assert n[0] == 0


async def test_art13_7_old_assessment_rechecked_after_the_exporters_record_changed(env, h):
    """The assessment row keeps the exporter's record and standing it used and the policy
    version (by hash): after the record and standing changed in PostgreSQL, replaying the old
    assessment reproduces its inputs hash and recommendation."""
    from stc_common.db.pool import create_pool
    from stc_licensing import service as svc
    from stc_licensing.config import SOURCE
    from stc_licensing.storage.sql import unit_of_work

    uscc = await env.operator()
    app = await env.submit(uscc)
    await env.screen(app)
    await env.wait_state(app.application_id, uscc, apb.APPLICATION_STATE_UNDER_REVIEW)
    (a,) = await env.sql("SELECT id, inputs_hash, policy_hash, inputs->'operator' AS op"
                         " FROM assessments WHERE application_id = $1", app.application_id)
    assert a["op"] is not None
    (p,) = await env.sql("SELECT version FROM policy_versions WHERE hash = $1", a["policy_hash"])
    assert p["version"] == "2026.1"
    # the exporter's record and credit standing change afterwards
    await env.sql("UPDATE operators SET name_en = 'Renamed Co.', icp_audits = '[]'"
                  " WHERE uscc = $1", uscc)
    await env.sql("INSERT INTO credit_standing (uscc, level, active_records) VALUES"
                  " ($1, 'PENALISED', 1) ON CONFLICT (uscc) DO UPDATE SET level = 'PENALISED'",
                  uscc)
    pool = await create_pool(env.dsn, min_size=1, max_size=1)
    try:
        async with unit_of_work(pool, SOURCE) as uow:
            r = await svc.replay_assessment(uow=uow, assessment_id=a["id"])
    finally:
        await pool.close()
    assert r.reproduced and r.inputs_hash == a["inputs_hash"] and r.policy_version == "2026.1"
