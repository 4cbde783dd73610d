"""What a rep sees on Home, in `/deal list` and on deal cards, through signed HTTP on SQLite and PostgreSQL.

"Needs a decision" is what the morning digest would list (its stall rules, thresholds, zone and clock);
a snoozed deal says so; a passed meeting is never "on track"; closed cards show no plans.
"""

from __future__ import annotations

import json
from datetime import timedelta

from tests.test_deal_command import mrkdwn, texts


def sections(shown: str) -> dict[str, list[str]]:
    """{section title without its count: [company names in its lines, in order]} of a list or Home."""
    found: dict[str, list[str]] = {}
    title = None
    for line in shown.split("\n"):
        if line.startswith("*") and line.rstrip().endswith(")*") and "(" in line:
            title = line.strip("*").rsplit(" (", 1)[0]
            found[title] = []
        elif line.startswith("• *") and title is not None:
            found[title].append(line[3:].split("*", 1)[0])
    return found


def a_week_of_deals(slack, clock) -> None:
    """Deals in every state the stall rules tell apart; the clock ends Fri Dec 4, 10:00 in New York (U1)."""
    slack.deal("add Quiet Co $5k")  # Mon Nov 23, nothing since: no next meeting for 11 days -> listed
    clock.advance(timedelta(days=10))  # Thu Dec 3
    slack.deal("add Once Co $20k")
    slack.deal("maybe once co")  # one maybe, yesterday: not a stall yet
    slack.deal("add Twice Co $9k")
    slack.deal("maybe twice co")
    slack.deal("maybe twice co")  # the second maybe: listed
    slack.deal("add Tried Co")
    slack.deal("touch tried co")  # one unanswered try: not a stall yet
    slack.deal("add Sleepy Co")
    slack.deal("maybe sleepy co")
    slack.deal("maybe sleepy co")
    slack.deal("snooze sleepy co dec 20")  # two maybes, but snoozed: the digest leaves it alone
    slack.deal("add Met Co")
    slack.deal("meet met co dec 4 9am")  # tomorrow 9am; an hour past when we look
    slack.deal("add Booked Co")
    slack.deal("meet booked co dec 10 10am")
    clock.advance(timedelta(days=1, hours=5))  # Fri Dec 4, 15:00 UTC = 10:00 in New York


EXPECTED = {
    "Needs a decision": ["Quiet Co", "Twice Co"],  # the digest's order: longest waiting first
    "Meeting passed, no next one booked": ["Met Co"],
    "Open, on track": ["Booked Co", "Once Co", "Tried Co"],
    "Snoozed": ["Sleepy Co"],
}


def test_list_sorts_deals_with_the_digests_own_stall_rules(slack, clock):
    a_week_of_deals(slack, clock)
    shown = texts(slack.deal("list"))
    got = sections(shown)
    assert {k: v for k, v in got.items() if k in EXPECTED} == EXPECTED, shown
    assert "no next meeting since your last update on Nov 23" in shown  # the digest's own reason, in the rep's zone
    assert "second maybe since Dec 3" in shown
    sleepy = next(line for line in shown.split("\n") if "Sleepy Co" in line)
    assert "snoozed until Sun 20 Dec" in sleepy, sleepy


def test_home_sorts_deals_with_the_digests_own_stall_rules(slack, clock, fake):
    a_week_of_deals(slack, clock)
    assert slack.home_opened().status == 200
    [published] = fake.wait_for("views.publish")
    shown = "\n".join(b["text"]["text"] for b in published.params["view"]["blocks"]
                      if b["type"] == "section" and "text" in b)
    got = sections(shown)
    assert {k: v for k, v in got.items() if k in EXPECTED} == EXPECTED, shown
    assert "7 open" in json.dumps(published.params["view"])


def test_the_digest_lists_what_home_calls_needs_a_decision(slack, clock, fake):
    """The same state, the digest itself: the same two deals, nothing else."""
    try:  # the digest's package since its split (issue 14); the module before it
        from handlers.digest import run_digests
    except ImportError:
        from handlers.nudger import run_digests
    a_week_of_deals(slack, clock)
    run_digests(slack.app.services, slack.client, ignore_hour=True, only_user="U1")
    [dm] = [c for c in fake.calls_to("chat.postMessage") if c.ok and c.params["channel"] == "DU1"]
    listed = json.dumps(dm.params["blocks"])
    assert all(company in listed for company in EXPECTED["Needs a decision"])
    assert not [c for names in EXPECTED.values() for c in names
                if c in listed and c not in EXPECTED["Needs a decision"]]


def test_ls_maybes_lists_maybes_only(slack, clock):
    a_week_of_deals(slack, clock)
    for text in ("ls maybes", "list maybe", "LS maybes"):
        shown = texts(slack.deal(text))
        names = [n for names in sections(shown).values() for n in names]
        assert sorted(names) == ["Once Co", "Sleepy Co", "Twice Co"], (text, shown)


def test_a_closed_card_drops_the_next_meeting_and_snooze_lines(slack, clock):
    slack.deal("add Acme $12k")
    slack.deal("meet acme dec 10 10am")
    slack.deal("snooze acme dec 20")
    card = slack.deal("no acme went with a competitor")
    shown = "\n".join(mrkdwn(card))
    assert "Next meeting" not in shown and "snoozed until" not in shown, shown
    assert "reason: went with a competitor" in shown


def test_a_won_deals_note_is_not_a_reason(slack):
    slack.deal("add Acme $12k")
    shown = "\n".join(mrkdwn(slack.deal("won acme signed for two years")))
    assert "reason:" not in shown, shown
    assert "signed for two years" in shown
