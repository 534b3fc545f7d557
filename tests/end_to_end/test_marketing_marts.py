"""The marketing marts against the world's ground truth (sandbox/truth/marketing.py).

World -> vendor sandboxes (AppsFlyer, Batch, Brevo, stores, Instagram, TikTok,
Contentful) and the app database -> dlt -> dbt: per campaign, the sends,
installs, sign-ups, new beneficiaries and cost of the funnel mart; per store
and day, the downloads; every count and sum exact (money to the cent).
"""

from __future__ import annotations

from collections import Counter

import pytest

from sandbox.truth import marketing as truth

MARTS = (
    "mrt_marketing__daily_channel_performance",
    "mrt_marketing__campaign_funnel",
    "mrt_marketing__daily_install_acquisition",
    "mrt_marketing__email_campaigns",
    "mrt_marketing__daily_transactional_emails",
    "mrt_marketing__push_campaigns",
    "mrt_marketing__daily_transactional_pushes",
    "mrt_marketing__daily_app_downloads",
    "mrt_marketing__social_daily",
    "mrt_marketing__social_publications",
    "mrt_marketing__home_playlists",
)


@pytest.fixture(scope="module")
def campaigns(demo) -> dict[str, truth.CampaignTruth]:
    return truth.campaigns(demo.world)


@pytest.mark.parametrize("mart", MARTS)
def test_the_demo_builds_the_mart_and_names_it_in_its_summary(demo, mart):
    assert f"marts_marketing.{mart}" in demo.run.stdout
    assert demo.query(f"select count(*) from marts_marketing.{mart}")[0][0] > 0


def test_the_demo_writes_the_marketing_report(demo):
    report = demo.home / "reports" / "marketing" / "index.html"
    assert report.exists()
    html = report.read_text()
    for campaign in ("202303_cinema_ete_paid_001", "Cost per new beneficiary", "Funnel per channel", "<img"):
        assert campaign in html


def test_funnel_has_one_row_per_campaign_of_the_catalogue_with_its_channel(demo, campaigns):
    got = dict(demo.query("select utm_campaign, channel from marts_marketing.mrt_marketing__campaign_funnel"))
    assert got == {utm: t.channel for utm, t in campaigns.items()}


@pytest.mark.parametrize(
    "column, attribute",
    [
        ("sends_or_impressions", "sends"),
        ("clicks", "clicks"),
        ("installs", "installs"),
        ("sign_ups", "sign_ups"),
        ("new_beneficiaries", "new_beneficiaries"),
        ("first_bookings", "first_bookings"),
    ],
)
def test_funnel_counts_per_campaign_equal_the_ground_truth(demo, campaigns, column, attribute):
    got = dict(demo.query(f"select utm_campaign, {column} from marts_marketing.mrt_marketing__campaign_funnel"))
    assert got == {utm: getattr(t, attribute) for utm, t in campaigns.items()}


def test_funnel_cost_per_campaign_equals_the_ground_truth_to_the_cent(demo, campaigns):
    got = dict(
        demo.query(
            "select utm_campaign, cast(round(cost * 100) as bigint) from marts_marketing.mrt_marketing__campaign_funnel"
        )
    )
    assert got == {utm: round(t.cost * 100) for utm, t in campaigns.items()}
    per_beneficiary = dict(
        demo.query(
            "select utm_campaign, cost_per_new_beneficiary from marts_marketing.mrt_marketing__campaign_funnel "
            "where channel_type = 'paid'"
        )
    )
    for utm, value in per_beneficiary.items():
        t = campaigns[utm]
        assert value == (pytest.approx(t.cost / t.new_beneficiaries) if t.new_beneficiaries else None)


def test_each_install_is_counted_once_per_channel(demo):
    # AppsFlyer re-pulls 14 days on every run: the latest version of each install only, organic ones included
    got = Counter(
        dict(
            demo.query(
                "select channel, sum(installs) from marts_marketing.mrt_marketing__daily_channel_performance "
                "where installs is not null group by 1"
            )
        )
    )
    assert got == truth.installs_by_channel(demo.world)
    acquisition = dict(
        demo.query(
            "select channel, sum(installs) from marts_marketing.mrt_marketing__daily_install_acquisition group by 1"
        )
    )
    assert Counter(acquisition) == truth.installs_by_channel(demo.world)


def test_channel_performance_sums_to_the_funnel_per_campaign(demo, campaigns):
    got = dict(
        demo.query(
            "select utm_campaign, sum(installs) from marts_marketing.mrt_marketing__daily_channel_performance "
            "where utm_campaign != 'none' group by 1"
        )
    )
    assert got == {utm: t.installs for utm, t in campaigns.items()}


def test_push_campaign_sends_per_campaign_equal_the_ground_truth(demo, campaigns):
    got = dict(
        demo.query(
            "select utm_campaign, sum(sent) from marts_marketing.mrt_marketing__push_campaigns "
            "group by 1 having sum(sent) > 0"
        )
    )
    assert got == {utm: t.sends for utm, t in campaigns.items() if t.channel == "push" and t.sends}


def test_email_campaign_sends_equal_the_ground_truth(demo, campaigns):
    got = dict(demo.query("select utm_campaign, sent from marts_marketing.mrt_marketing__email_campaigns"))
    assert got == {utm: t.sends for utm, t in campaigns.items() if t.channel == "email"}


def test_transactional_emails_per_template_equal_the_ground_truth(demo):
    got = dict(
        demo.query(
            "select template_id, sum(messages) "
            "from marts_marketing.mrt_marketing__daily_transactional_emails group by 1"
        )
    )
    assert Counter(got) == truth.transactional_emails_by_template(demo.world)


def test_downloads_per_store_and_day_equal_the_ground_truth(demo):
    got = {
        (store, day): downloads
        for store, day, downloads in demo.query(
            "select store, download_date, sum(downloads) from marts_marketing.mrt_marketing__daily_app_downloads "
            "group by 1, 2"
        )
    }
    expected = truth.downloads_by_store_and_day(demo.world)
    assert got == expected
    assert {store for store, _ in got} == {"app_store", "google_play"}


def test_transactional_pushes_per_group_equal_the_ground_truth(demo):
    got = dict(
        demo.query(
            "select group_id, sum(sent) from marts_marketing.mrt_marketing__daily_transactional_pushes group by 1"
        )
    )
    assert Counter(got) == truth.transactional_pushes_by_group(demo.world)


def test_social_views_and_engagements_per_network_equal_the_ground_truth(demo):
    got = {
        network: {"views": views, "engagements": engagements}
        for network, views, engagements in demo.query(
            "select network, sum(views), sum(engagements) from marts_marketing.mrt_marketing__social_daily group by 1"
        )
    }
    assert got == truth.social_by_network(demo.world)


def test_home_playlist_items_and_their_bookings_equal_the_ground_truth(demo):
    got = {
        (module, kind, item): bookings
        for module, kind, item, bookings in demo.query(
            "select module_entry_id, item_type, item_id, bookings from marts_marketing.mrt_marketing__home_playlists"
        )
    }
    assert got == truth.home_playlist_bookings(demo.world)
