"""The domain words plain text; Slack's mrkdwn (escaping included) is the handlers' business."""

from __future__ import annotations

import ast
from pathlib import Path

from handlers import mrkdwn
from handlers.domain import text

DOMAIN = Path(__file__).resolve().parents[2] / "handlers" / "domain"
MINE = ["text.py", "stalls.py", "drafts.py", "model.py", "pipeline.py", "zones.py"]


def test_the_domains_text_helpers_are_plain():
    assert text.clip("abcdef", 4) == "abc…" and text.plural(1, "try", "tries") == "1 try"
    assert not hasattr(text, "escape")  # rendering moved to handlers.mrkdwn


def test_these_domain_modules_neither_escape_nor_import_mrkdwn():
    for name in MINE:
        tree = ast.parse((DOMAIN / name).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert "handlers.mrkdwn" not in imported and "escape" not in names, name


def test_mrkdwn_escape_shows_user_text_literally():
    assert mrkdwn.escape("Foo & <@U1> *x*") == "Foo &amp; &lt;@U1&gt; *\u200bx*\u200b"
    assert mrkdwn.entities("<!channel> *ours*") == "&lt;!channel&gt; *ours*"
