"""The BI-usage marts (marts_bi) end to end against the world's Metabase ground truth.

World -> Metabase application database (PostgreSQL) and REST sandbox -> dlt ->
dbt: card executions, users and failures per card and month, stale content
and collection permissions must equal what `sandbox.truth.bi` computes from
the world's own objects; no Metabase user's name may reach staging or a mart.
"""

from __future__ import annotations

from collections import Counter

from sandbox.truth import bi as truth

USAGE = "marts_bi.mrt_bi__card_usage"
STALE = "marts_bi.mrt_bi__stale_content"
PERMISSIONS = "marts_bi.mrt_bi__collection_permissions"


def test_bi_marts_are_in_the_demo_summary(demo):
    for mart in (USAGE, STALE, PERMISSIONS):
        assert mart in demo.run.stdout


def test_card_executions_per_month_equal_the_ground_truth(demo):
    rows = demo.query(f"select card_id, usage_month, executions from {USAGE}")
    assert Counter({(c, m): n for c, m, n in rows}) == truth.card_executions(demo.world)


def test_card_users_and_failures_per_month_equal_the_ground_truth(demo):
    rows = demo.query(f"select card_id, usage_month, distinct_users, failed_executions from {USAGE}")
    assert {(c, m): u for c, m, u, _ in rows} == truth.card_distinct_users(demo.world)
    assert Counter({(c, m): f for c, m, _, f in rows if f}) == truth.card_failures(demo.world)


def test_card_last_runs_equal_the_ground_truth(demo):
    # the ingredient of staleness, checked on every card (the small demo world may have nothing stale)
    got = dict(demo.query(f"select card_id, max(last_run_at) from {USAGE} group by 1"))
    assert got == truth.card_last_runs(demo.world)


def test_stale_content_equals_the_ground_truth(demo):
    got = set(demo.query(f"select content_type, content_id from {STALE}"))
    assert got == truth.stale_content(demo.world)


def test_collection_permissions_equal_the_ground_truth(demo):
    rows = demo.query(f"select group_id, collection_id, permission, member_count from {PERMISSIONS}")
    assert {(g, c): p for g, c, p, _ in rows} == truth.collection_permissions(demo.world)
    members = truth.group_members(demo.world)
    assert all(n == members[g] for g, _, _, n in rows)


def test_no_metabase_user_name_in_staging_or_marts(demo):
    names = {n.lower() for n in truth.personal_names(demo.world)}
    text_columns = demo.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where (table_schema = 'marts_bi' or (table_schema = 'staging' and table_name like 'stg_metabase__%')) "
        "and data_type in ('VARCHAR', 'TEXT')"
    )
    assert text_columns
    for schema, table, column in text_columns:
        values = {
            v.lower()
            for (v,) in demo.query(f'select distinct "{column}" from {schema}."{table}" where "{column}" is not null')
        }
        leaks = {v for v in values for n in names if n in v or n.replace(" ", "_") in v}
        assert not leaks, (schema, table, column, leaks)
    personal = demo.query("select distinct collection_name from staging.stg_metabase__collections where is_personal")
    assert personal == [("Personal collection",)]
