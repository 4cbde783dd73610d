"""app.yaml, the Slack app manifest, agrees with Slack's schema and with the app we actually run.

A listener the manifest doesn't enable never hears from Slack; an event the manifest subscribes to
with no listener behind it costs a request (and a scope) for nothing. Both directions are checked
against the listeners Bolt really holds after `create_app`, read from Bolt's own listener matchers
and then confirmed by feeding those matchers payloads shaped like Slack's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

ROOT = Path(__file__).resolve().parents[1]
APP_YAML = ROOT / "app.yaml"
SCHEMA = Path(__file__).resolve().parents[2] / "shared/slack/manifest.schema.1.0.0.json"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# What Slack requires before it delivers each bot event (any one of the scopes will do).
EVENT_SCOPES = {
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
    "assistant_thread_started": {"assistant:write"},
    "assistant_thread_context_changed": {"assistant:write"},
    "member_joined_channel": {"channels:read", "groups:read"},
    "member_left_channel": {"channels:read", "groups:read"},
    "message.im": {"im:history"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.mpim": {"mpim:history"},
    "reaction_added": {"reactions:read"},
    "app_uninstalled": set(),  # sent to every app, no scope needed
    "tokens_revoked": set(),
}
CHANNEL_TYPE = {"im": "im", "channels": "channel", "groups": "group", "mpim": "mpim"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(APP_YAML.read_text(encoding="utf-8"))


# -- Slack's schema ---------------------------------------------------------------------------------------

def test_manifest_validates_against_slacks_schema(manifest):
    import jsonschema
    if not SCHEMA.exists():
        if IN_CI:
            pytest.fail(f"Slack's manifest schema is missing at {SCHEMA} (CI clones shared/ beside the repo)")
        pytest.skip(f"Slack's manifest schema not found at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(manifest), key=lambda e: e.json_path)
    assert not errors, "app.yaml breaks Slack's manifest schema:\n  " + "\n  ".join(
        f"{e.json_path}: {e.message}" for e in errors)


def test_manifest_is_a_version_1_manifest(manifest):
    """The schema we validate against is version 1; a manifest claiming another major version
    would be validated by Slack against a different schema."""
    assert manifest.get("_metadata", {}).get("major_version", 1) == 1


# -- every scope says why ---------------------------------------------------------------------------------

def _bot_scope_nodes() -> list[yaml.ScalarNode]:
    def child(node: yaml.MappingNode, key: str):
        for k, v in node.value:
            if k.value == key:
                return v
        raise AssertionError(f"app.yaml has no {key!r} under line {node.start_mark.line + 1}")
    root = yaml.compose(APP_YAML.read_text(encoding="utf-8"))
    seq = child(child(child(root, "oauth_config"), "scopes"), "bot")
    assert isinstance(seq, yaml.SequenceNode), "oauth_config.scopes.bot must be a list"
    return seq.value


def test_every_bot_scope_has_a_why_comment_on_its_line(manifest):
    lines = APP_YAML.read_text(encoding="utf-8").splitlines()
    nodes = _bot_scope_nodes()
    assert [n.value for n in nodes] == manifest["oauth_config"]["scopes"]["bot"] and nodes
    missing = []
    for node in nodes:
        assert node.start_mark.line == node.end_mark.line, f"scope {node.value} spans lines"
        rest = lines[node.end_mark.line][node.end_mark.column:]
        why = re.match(r"\s+#\s*(.*\S)", rest)
        if not why or len(why.group(1)) < 8:
            missing.append(f"line {node.start_mark.line + 1}: {lines[node.start_mark.line].strip()}")
    assert not missing, "each bot scope needs a `# why` comment on its own line:\n  " + "\n  ".join(missing)


def test_bot_scopes_are_not_repeated(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), scopes


# -- the listeners Bolt holds -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Heard:
    """What one Bolt listener answers: a kind of request, and the name it matches (str or re.Pattern)."""

    kind: str  # event | command | shortcut | global_shortcut | message_shortcut | action | view | view_closed | options
    name: object
    listener: object
    plain: bool  # the whole constraint is `name` (no block_id, subtype or keyword narrowing it)

    def __str__(self):
        fn = self.listener.ack_function
        name = self.name.pattern if isinstance(self.name, re.Pattern) else self.name
        return f"{self.kind} {name!r} ({fn.__module__}.{fn.__qualname__})"


# Bolt's builtin matcher factories (slack_bolt.listener_matcher.builtins) -> the kind they match.
FACTORY_KIND = {
    "event": "event", "message_event": "event",
    "command": "command",
    "shortcut": "shortcut", "global_shortcut": "global_shortcut", "message_shortcut": "message_shortcut",
    "action": "action", "block_action": "action",
    "view": "view", "view_submission": "view", "view_closed": "view_closed",
    "options": "options", "block_suggestion": "options",
}
INTERACTIVE = {"shortcut", "global_shortcut", "message_shortcut", "action", "view", "view_closed", "options"}


def describe(listener) -> Heard:
    """Read the listener's primary matcher: Bolt's builtin factory (from the matcher function's
    qualified name) and the constraint it closed over."""
    matcher = listener.matchers[0]
    func = getattr(matcher, "func", None)
    fn = listener.ack_function
    where = f"{fn.__module__}.{fn.__qualname__}"
    assert func is not None and func.__module__ == "slack_bolt.listener_matcher.builtins", (
        f"listener {where} uses a matcher this test can't read ({matcher!r}); extend describe()")
    factory = func.__qualname__.split(".<locals>")[0]
    assert factory in FACTORY_KIND, f"listener {where}: unknown Bolt matcher factory {factory!r}"
    cells = dict(zip(func.__code__.co_freevars, (c.cell_contents for c in func.__closure__ or ()), strict=True))
    for var in ("event_type", "command", "callback_id", "action_id", "constraints"):
        if var in cells:
            name = cells[var]
            break
    else:
        raise AssertionError(f"listener {where}: no constraint among {sorted(cells)}")
    plain = "keyword" not in cells and (not isinstance(name, dict) or set(name) == {"type"})
    if isinstance(name, dict):
        name = name.get("type") if FACTORY_KIND[factory] == "event" else \
            name.get("callback_id") or name.get("action_id")
    assert isinstance(name, str | re.Pattern), f"listener {where}: constraint {name!r}"
    return Heard(FACTORY_KIND[factory], name, listener, plain)


def probe(kind: str, name: str, **event) -> dict:
    """A minimal payload of the given kind, shaped like Slack's."""
    if kind == "event":
        return {"type": "event_callback", "team_id": "T1", "event": {"type": name, **event}}
    if kind == "command":
        return {"command": name, "text": "", "user_id": "U1", "team_id": "T1"}
    if kind in ("global_shortcut", "shortcut"):
        return {"type": "shortcut", "callback_id": name, "user": {"id": "U1"}}
    if kind == "message_shortcut":
        return {"type": "message_action", "callback_id": name, "user": {"id": "U1"}}
    if kind == "action":
        return {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": name, "block_id": "b"}]}
    if kind in ("view", "view_closed"):
        return {"type": "view_submission" if kind == "view" else "view_closed", "user": {"id": "U1"},
                "view": {"type": "modal", "callback_id": name}}
    if kind == "options":
        return {"type": "block_suggestion", "action_id": name, "user": {"id": "U1"}}
    raise ValueError(kind)


def matches(listener, body: dict) -> bool:
    return listener.matches(req=BoltRequest(body=body, mode="socket_mode"), resp=BoltResponse(status=200))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app, as `serve` builds it: create_app over a migrated SQLite store and the fake Slack."""
    from bot.app import create_app
    from bot.clock import Clock
    from bot.config import Settings
    from bot.slack_client import make_client
    from storage import Store, upgrade
    from tests.fakeslack import FakeSlack
    db = tmp_path_factory.mktemp("manifest") / "hardno.db"
    with FakeSlack() as fake:
        store = Store.from_url(f"sqlite:///{db}")
        upgrade(store.engine)
        settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret="s",
                            slack_api_url=fake.api_url)
        yield create_app(settings, store, Clock(), make_client("xoxb-test", fake.api_url))
        store.dispose()


@pytest.fixture(scope="module")
def heard(app) -> list[Heard]:
    found = [describe(listener) for listener in app._listeners]
    assert found, "create_app registered no listeners"
    return found


def test_describe_reads_each_listener_right(heard):
    """Guards the introspection itself: a listener described as (kind, name) must accept a payload
    of that kind and name, and refuse the same name as a different kind."""
    checked = 0
    for h in heard:
        if isinstance(h.name, str) and h.plain:
            kind = "message_shortcut" if h.kind == "shortcut" else h.kind
            assert matches(h.listener, probe(kind, h.name)), f"{h} does not accept its own payload"
            other = "command" if kind != "command" else "event"
            assert not matches(h.listener, probe(other, h.name)), f"{h} also accepts a {other}"
            checked += 1
    assert checked, "no listener with a plain-string constraint to check the reading against"


def bolt_event_type(bot_event: str) -> str:
    """Slack's subscription name -> the event `type` in the payload (message.im -> message)."""
    return bot_event.split(".")[0]


def event_probe(bot_event: str) -> dict:
    kind, _, where = bot_event.partition(".")
    extra = {"channel_type": CHANNEL_TYPE[where], "user": "U1", "text": "hi"} if where else {"user": "U1"}
    return probe("event", kind, **extra)


def _matches_name(name, value: str) -> bool:
    return name == value if isinstance(name, str) else name.search(value) is not None


def test_every_subscribed_event_has_a_listener(app, manifest):
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    unheard = [e for e in events if not any(matches(listener, event_probe(e)) for listener in app._listeners)]
    assert not unheard, f"app.yaml subscribes to {unheard} but no listener handles them"


def test_every_event_listener_is_subscribed(heard, manifest):
    types = {bolt_event_type(e) for e in manifest["settings"]["event_subscriptions"].get("bot_events", [])}
    deaf = [str(h) for h in heard if h.kind == "event" and not any(_matches_name(h.name, t) for t in types)]
    assert not deaf, f"listeners for events app.yaml never subscribes to: {deaf}"


def test_slash_commands_match_both_ways(app, heard, manifest):
    declared = [c["command"] for c in manifest["features"].get("slash_commands", [])]
    listened = [h for h in heard if h.kind == "command"]
    unheard = [c for c in declared if not any(matches(listener, probe("command", c)) for listener in app._listeners)]
    assert not unheard, f"app.yaml declares {unheard} but no listener handles them"
    undeclared = [str(h) for h in listened if not any(_matches_name(h.name, c) for c in declared)]
    assert not undeclared, f"listeners for slash commands app.yaml doesn't declare: {undeclared}"
    assert listened, "the app registers no slash command"


def test_shortcuts_match_both_ways(app, heard, manifest):
    declared = manifest["features"].get("shortcuts", [])
    kinds = {"message": "message_shortcut", "global": "global_shortcut"}
    unheard = [s["callback_id"] for s in declared
               if not any(matches(listener, probe(kinds[s["type"]], s["callback_id"])) for listener in app._listeners)]
    assert not unheard, f"app.yaml declares shortcuts {unheard} but no listener handles them"
    undeclared = [str(h) for h in heard if h.kind in ("shortcut", "global_shortcut", "message_shortcut")
                  and not any(_matches_name(h.name, s["callback_id"])
                              and h.kind in ("shortcut", kinds[s["type"]]) for s in declared)]
    assert not undeclared, f"listeners for shortcuts app.yaml doesn't declare (or of another type): {undeclared}"


def test_interactivity_is_on_exactly_when_something_is_interactive(heard, manifest):
    interactive = [str(h) for h in heard if h.kind in INTERACTIVE]
    enabled = manifest["settings"].get("interactivity", {}).get("is_enabled", False)
    assert enabled == bool(interactive), (
        f"interactivity.is_enabled is {enabled} but the interactive listeners are {interactive or 'none'}")


def test_buttons_and_modals_have_listeners(heard):
    """The app posts buttons and opens modals; without action / view listeners their clicks go nowhere."""
    kinds = {h.kind for h in heard}
    assert {"action", "view"} <= kinds, kinds


def test_home_tab_is_enabled_exactly_when_something_draws_it(app, manifest):
    draws = any(matches(listener, probe("event", "app_home_opened", tab="home", user="U1"))
                for listener in app._listeners)
    enabled = manifest["features"].get("app_home", {}).get("home_tab_enabled", False)
    assert enabled == draws, f"home_tab_enabled is {enabled}, an app_home_opened listener {'exists' if draws else 'does not'}"
    if enabled:
        assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_dms_to_the_bot_are_possible_when_it_listens_to_them(manifest):
    home = manifest["features"].get("app_home", {})
    if "message.im" in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert home.get("messages_tab_enabled") is True, "message.im needs the Messages tab"
        assert home.get("messages_tab_read_only_enabled") is False, "message.im needs a writable Messages tab"


def test_every_subscription_has_the_scope_slack_requires(manifest):
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    missing = []
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"add {event!r} and the scope it needs to EVENT_SCOPES"
        need = EVENT_SCOPES[event]
        if need and not need & scopes:
            missing.append(f"{event} needs one of {sorted(need)}")
    features = manifest["features"]
    if (features.get("slash_commands") or features.get("shortcuts")) and "commands" not in scopes:
        missing.append("slash commands and shortcuts need `commands`")
    assert not missing, missing


# -- `hardno manifest` ------------------------------------------------------------------------------------

def test_hardno_manifest_prints_the_yaml_as_json(manifest, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_")) and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-m", "bot", "manifest"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == manifest
    assert "Traceback" not in r.stderr
