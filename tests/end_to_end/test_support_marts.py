"""The support marts (marts_support) end to end against the world's Zendesk ground truth.

World -> Zendesk sandbox and app PostgreSQL -> dlt -> dbt: ticket counts per
day, topic and channel, solves, backlog, CSAT and the requesters' profile
must equal what `sandbox.truth.support` computes from the world's own objects.
"""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from sandbox.truth import support as truth

TICKETS = "marts_support.mrt_support__tickets"
DAILY = "marts_support.mrt_support__daily_tickets"
MACROS = "marts_support.mrt_support__monthly_macro_usage"


def test_support_marts_are_in_the_demo_summary(demo):
    for mart in (TICKETS, DAILY, MACROS):
        assert mart in demo.run.stdout


def test_one_row_per_ticket(demo):
    assert (
        demo.query(f"select count(*), count(distinct ticket_id) from {TICKETS}")[0]
        == (len(truth.zendesk(demo.world).tickets),) * 2
    )


def test_tickets_created_per_day_topic_and_channel_equal_the_ground_truth(demo):
    rows = demo.query(f"select ticket_date, topic, channel, created_tickets from {DAILY} where created_tickets > 0")
    assert Counter({(d, t, c): n for d, t, c, n in rows}) == truth.tickets_created(demo.world)
    by_topic = demo.query(f"select created_date, topic, count(*) from {TICKETS} group by 1, 2")
    assert Counter({(d, t): n for d, t, n in by_topic}) == truth.tickets_created_by_day_and_topic(demo.world)


def test_tickets_solved_per_day_equal_the_ground_truth(demo):
    rows = demo.query(f"select ticket_date, topic, channel, solved_tickets from {DAILY} where solved_tickets > 0")
    assert Counter({(d, t, c): n for d, t, c, n in rows}) == truth.tickets_solved(demo.world)


def test_median_resolution_hours_per_solve_day_equal_the_ground_truth(demo):
    rows = demo.query(
        f"select ticket_date, topic, channel, median_resolution_hours from {DAILY} where solved_tickets > 0"
    )
    got = {(d, t, c): h for d, t, c, h in rows}
    expected = truth.median_resolution_hours_by_solve_day(demo.world)
    assert got.keys() == expected.keys()
    for key, hours in expected.items():
        assert got[key] == pytest.approx(hours, abs=1e-6), key


def test_backlog_at_the_last_day_and_mid_way_equals_the_ground_truth(demo):
    days = [d for (d,) in demo.query(f"select distinct ticket_date from {DAILY} order by 1")]
    for day in (days[len(days) // 2], days[-1]):
        rows = demo.query(f"select topic, channel, backlog_tickets from {DAILY} where ticket_date = date '{day}'")
        got = Counter({(t, c): n for t, c, n in rows if n})
        assert got == truth.backlog_on(demo.world, day), day


def test_csat_equals_the_ground_truth(demo):
    rows = demo.query(f"select ticket_date, topic, channel, rated_tickets, good_ratings from {DAILY}")
    got = Counter()
    for day, topic, channel, rated, good in rows:
        if good:
            got[(day, topic, channel, "good")] = good
        if rated - good:
            got[(day, topic, channel, "bad")] = rated - good
    assert got == truth.ratings(demo.world)
    csat = dict(
        demo.query(
            f"select topic, sum(good_ratings) * 1.0 / sum(rated_tickets) from {DAILY} "
            "group by 1 having sum(rated_tickets) > 0"
        )
    )
    expected = truth.csat_by_topic(demo.world)
    assert csat.keys() == expected.keys()
    for topic, share in expected.items():
        assert csat[topic] == pytest.approx(share, abs=1e-9)


def test_resolution_hours_equal_the_ground_truth(demo):
    got = sorted(h for (h,) in demo.query(f"select resolution_hours from {TICKETS} where is_solved"))
    expected = sorted(truth.resolution_hours(demo.world))
    assert got == pytest.approx(expected, abs=1e-6)
    assert min(got) >= 0
    (median,) = demo.query(f"select percentile_cont(0.5) within group (order by resolution_hours) from {TICKETS}")[0]
    assert median == pytest.approx(statistics.median(expected), abs=1e-6)


def test_first_reply_and_resolution_hours_per_ticket_equal_the_world_metrics(demo):
    rows = demo.query(
        "select ticket_id, first_reply_hours, resolution_hours, first_reply_business_hours, "
        f"resolution_business_hours from {TICKETS}"
    )
    got = {tid: tuple(durations) for tid, *durations in rows}
    assert got == truth.ticket_durations(demo.world)  # exact: whole minutes over 60, seconds over 3600
    # every solve time comes from the metric sets, none from the last-update fallback
    sources = dict(demo.query(f"select solved_at_source, count(*) from {TICKETS} group by 1"))
    solved = sum(1 for at in truth.solved_at(demo.world).values() if at is not None)
    assert sources.get("metric_set") == solved and "last_update" not in sources
    # the first reply follows creation and precedes the solve
    (disordered,) = demo.query(
        f"select count(*) from {TICKETS} where first_replied_at < created_at or first_replied_at > solved_at"
    )[0]
    assert disordered == 0


def test_requester_profiles_equal_the_ground_truth(demo):
    rows = demo.query(
        "select ticket_id, requester_is_app_user, requester_is_beneficiary, requester_age_band, "
        f"requester_department_code from {TICKETS}"
    )
    got = {tid: tuple(profile) for tid, *profile in rows}
    assert got == truth.requester_profiles(demo.world)


def test_no_requester_identifier_that_is_not_pseudonymised(demo):
    columns = {
        c
        for (c,) in demo.query(
            "select column_name from information_schema.columns where table_schema = 'marts_support'"
        )
    }
    for leak in ("requester_id", "app_user_id", "user_id", "assignee_id", "email", "name", "subject", "description"):
        assert leak not in columns
    (hash_length,) = demo.query(f"select distinct length(requester_email_hash) from {TICKETS}")[0]
    assert hash_length == 64


def test_macro_usage_per_month_covers_every_active_macro(demo):
    macros = truth.zendesk(demo.world).macros
    rows = demo.query(
        f"select macro_id, uses_last_30_days from {MACROS} where usage_month = (select max(usage_month) from {MACROS})"
    )
    assert dict(rows) == {m["id"]: m["usage_30d"] for m in macros if m["active"]}
