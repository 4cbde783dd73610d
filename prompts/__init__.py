"""The coach's prompts: plain text files shipped inside this package, loaded by name.

`load("system")` reads `system.md`. Files are read through importlib.resources, so
they work from a wheel or a zip as well as from a source checkout.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

NAMES = ("system", "ask", "meeting", "breakup", "objection", "practice", "coach_question")
# The model these prompts are written and checked for: the one default of OPENAI_MODEL and LLMConfig.
DEFAULT_MODEL = "gpt-5-mini"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@cache
def load(name: str) -> str:
    """The text of prompts/<name>.md; ValueError for a malformed name, FileNotFoundError if absent."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"bad prompt name: {name!r}")
    path = resources.files(__name__).joinpath(f"{name}.md")
    if not path.is_file():
        raise FileNotFoundError(f"no prompt named {name!r}")
    return path.read_text(encoding="utf-8")
