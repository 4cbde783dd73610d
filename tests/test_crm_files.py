"""A CSV shared in the DM with the bot: a preview and an [Import] button; nothing is written before the click."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from handlers.domain.model import Status
from tests.test_import import PIPEDRIVE

MINE = PIPEDRIVE.replace("Ben Meyer <ben@example.com>", "dana@example.com").replace(
    "2026-11-10,ben@example.com", "2026-11-10,ben@example.com") + "19,*Evil* <!channel>,,100,USD,Lead,open,,\n"


@pytest.fixture
def files():
    """Slack's file host: serves url_private_download only with the bot's token, and records who asked."""
    served: dict[str, bytes] = {}
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append(self.headers.get("authorization", ""))
            data = served.get(self.path)
            ok = data is not None and self.headers.get("authorization", "").startswith("Bearer xoxb-")
            self.send_response(200 if ok else 404)
            self.send_header("content-length", str(len(data) if ok else 0))
            self.end_headers()
            if ok:
                self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, served, seen
    server.shutdown()
    server.server_close()


def share(slack, url: str, name: str = "deals.csv", filetype: str = "csv", user: str = "U1"):
    return slack.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": f"D{user}",
                        "user": user, "text": "", "ts": "1.0001", "files": [
                            {"id": "F1", "name": name, "filetype": filetype, "url_private_download": url}]})


def companies(store, owner):
    with store.tx() as tx:
        return {d.company: d for d in tx.deals(owner, list(Status))}


def test_a_shared_csv_is_previewed_then_imported_on_click(slack, fake, store, files):
    base, served, seen = files
    fake.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York", email="dana@example.com")
    served["/f/deals.csv"] = MINE.encode()
    share(slack, base + "/f/deals.csv")
    (post,) = fake.wait_for("chat.postMessage")
    text = post.params["text"]
    assert "a Pipedrive export. Importing would add 2 and update 0" in text and "1 skipped" in text
    flat = str(post.params["blocks"])
    assert "Stark Industries" in flat and "→ add" in flat and "owned by ben@example.com" in flat
    assert "<!channel>" not in flat and "&lt;!channel&gt;" in flat  # the file's text is escaped
    assert companies(store, "U1") == {}  # nothing written before the click
    button = next(e for b in post.params["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == "crm:import")
    slack.click("crm:import", button["value"], channel="DU1")
    slack.settle()
    assert set(companies(store, "U1")) == {"Stark Industries", "*Evil* <!channel>"}
    assert "Imported from a Pipedrive export: 2 added" in fake.last("response_url").params["text"]
    assert all(s.startswith("Bearer xoxb-") for s in seen)
    slack.click("crm:import", button["value"], channel="DU1")  # a second click adds nothing twice
    slack.settle()
    assert len(companies(store, "U1")) == 2 and "0 added" in fake.last("response_url").params["text"]


def test_not_a_csv_or_a_foreign_url_gets_a_clear_line_and_writes_nothing(slack, fake, store, files):
    base, served, seen = files
    share(slack, base + "/f/pic.png", name="pic.png", filetype="png")
    assert "doesn't look like a CSV" in fake.wait_for("chat.postMessage")[0].params["text"]
    served["/f/bad.csv"] = b"foo,bar\n1,2\n"
    share(slack, base + "/f/bad.csv", name="bad.csv")
    assert "no header names the deal or company" in fake.wait_for("chat.postMessage", 2)[1].params["text"]
    share(slack, "https://evil.example.com/steal.csv")  # the bot token is never sent off Slack
    assert "couldn't fetch" in fake.wait_for("chat.postMessage", 3)[2].params["text"]
    assert companies(store, "U1") == {} and len(seen) == 1
