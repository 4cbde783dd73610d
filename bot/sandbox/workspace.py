"""The sandbox's fixed demo workspace: you, two teammates in other time zones, and #sales."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    id: str
    handle: str  # what you type after `:as`
    real_name: str  # what the bot calls them (drafts sign with the first name)
    tz: str

    @property
    def first_name(self) -> str:
        return self.real_name.split()[0]


YOU = Person("U1", "you", "Alex Rivera", "America/New_York")
DANA = Person("U2", "dana", "Dana Whitaker", "America/Los_Angeles")
BEN = Person("U3", "ben", "Ben Okafor", "Europe/Berlin")
PEOPLE = (YOU, DANA, BEN)
SALES = "C1"
SALES_NAME = "sales"


def build(fake) -> None:
    """Put the demo people and #sales (with the bot in it) into a FakeSlack."""
    for p in PEOPLE:
        fake.add_user(p.id, p.handle, real_name=p.real_name, display_name="", tz=p.tz,
                      email=f"{p.first_name.lower()}@demo.example")
    fake.add_channel(SALES, SALES_NAME, members=[p.id for p in PEOPLE])


def person(ref: str) -> Person | None:
    """A person by handle, first name, @handle or user id (case-insensitive)."""
    key = ref.strip().lstrip("@").casefold()
    for p in PEOPLE:
        if key in (p.handle, p.id.casefold(), p.first_name.casefold(), p.real_name.casefold()):
            return p
    return None


def by_id(user_id: str) -> Person | None:
    return next((p for p in PEOPLE if p.id == user_id), None)


def names() -> dict[str, str]:
    """Ids to the names the renderer shows for mentions and channels."""
    found = {p.id: p.handle for p in PEOPLE}
    found.update({"UBOT": "hardno", SALES: SALES_NAME})
    return found
