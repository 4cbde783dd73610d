"""Block Kit as terminal text: what a message, modal or Home tab would look like in Slack, readably.

Each block becomes one or more `rich.text.Text` lines: styled for a colour terminal, and with `.plain`
exactly the text printed when the output is piped. Buttons are numbered (`[1] Won  [2] Hard no`), in order
across the surface unless the caller hands out the numbers (the sandbox keeps them unique for a whole
session), so a rep can press one with `:click N`; modal inputs are collected as `Field`s for the sandbox to
ask one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.text import Text

FIELD_WIDTH = 34  # a section's fields go two to a line, like Slack's two columns, this wide at least
FIELD_MAX = 46  # a longer left field gets a line of its own
RULE = "─" * 40

EMOJI = {
    "tada": "🎉", "wave": "👋", "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "warning": "⚠️",
    "trophy": "🏆", "fire": "🔥", "calendar": "📅", "date": "📅", "spiral_calendar_pad": "🗓️", "sunny": "☀️",
    "sunrise": "🌅", "hourglass": "⏳", "hourglass_flowing_sand": "⏳", "alarm_clock": "⏰", "zzz": "💤",
    "memo": "📝", "bell": "🔔", "chart_with_upwards_trend": "📈", "bar_chart": "📊", "first_place_medal": "🥇",
    "second_place_medal": "🥈", "third_place_medal": "🥉", "medal": "🏅", "sports_medal": "🏅", "muscle": "💪",
    "clap": "👏", "star": "⭐", "rocket": "🚀", "thinking_face": "🤔", "email": "✉️", "envelope": "✉️",
    "phone": "☎️", "telephone_receiver": "📞", "handshake": "🤝", "raised_hands": "🙌", "sparkles": "✨",
    "point_right": "👉", "speech_balloon": "💬", "mag": "🔍", "moneybag": "💰", "dart": "🎯", "ghost": "👻",
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎", "no_entry": "⛔", "no_entry_sign": "🚫",
    "stopwatch": "⏱️", "crossed_fingers": "🤞", "slightly_smiling_face": "🙂", "smile": "😄", "sweat_smile": "😅",
    "sleeping": "😴", "broom": "🧹", "wastebasket": "🗑️", "pushpin": "📌", "bulb": "💡", "eyes": "👀",
    "crystal_ball": "🔮", "busts_in_silhouette": "👥", "bust_in_silhouette": "👤", "inbox_tray": "📥",
    "outbox_tray": "📤", "page_facing_up": "📄", "repeat": "🔁", "arrows_counterclockwise": "🔄",
    "hand": "✋", "raising_hand": "🙋", "checkered_flag": "🏁", "seedling": "🌱", "coffee": "☕",
}

STYLE = {
    "header": "bold bright_white", "rule": "bright_black", "context": "bright_black", "label": "bold",
    "code": "cyan", "link": "underline blue", "mention": "bold magenta", "button": "bold cyan",
    "primary": "bold green", "danger": "bold red", "hint": "italic bright_black", "input": "yellow",
    "error": "bold red", "strike": "strike",
}


CONTROLS = {"datepicker": "a date", "timepicker": "a time", "datetimepicker": "a date and time",
            "static_select": "a choice", "overflow": "a choice", "radio_buttons": "a choice",
            "checkboxes": "choices", "multi_static_select": "choices"}


@dataclass(frozen=True)
class Button:
    """A button, or another control the rep can use on a message (date picker, menu), numbered across the
    surface it is on."""

    number: int
    label: str
    element: dict
    block_id: str

    @property
    def kind(self) -> str:
        return self.element.get("type", "button")


@dataclass(frozen=True)
class Field:
    """An input block of a modal, for the sandbox to ask."""

    block_id: str
    label: str
    element: dict
    optional: bool
    hint: str = ""

    @property
    def kind(self) -> str:
        return self.element.get("type", "")


@dataclass
class Rendered:
    lines: list[Text] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self.lines)


# ------------------------------------------------------------------------------------------------ mrkdwn

_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.S)
_INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|(?P<angle><[^<>\n]+>)"
    r"|(?<![\w*])\*(?P<bold>[^*\n]*[^*\s\n])\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]*[^_\s\n])_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\n]*[^~\s\n])~(?![\w~])"
)
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emojize(text: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def _angle(inner: str, names: Mapping[str, str]) -> tuple[str, str]:
    """The text and style of a `<...>` token: a mention, a channel, a special mention or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        uid = target[1:]
        return "@" + (label or names.get(uid, uid)), STYLE["mention"]
    if target.startswith("#"):
        cid = target[1:]
        return "#" + (label or names.get(cid, cid)), STYLE["mention"]
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        if word.startswith("date"):
            return unescape(label or word), ""
        return "@" + (label or word), STYLE["mention"]
    target = unescape(target)
    if label and unescape(label) != target:
        return f"{unescape(label)} ({target})", STYLE["link"]
    return target, STYLE["link"]


def _inline(text: str, out: Text, base: str, names: Mapping[str, str]) -> None:
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(emojize(unescape(text[pos:m.start()])), style=base or None)
        if m.group("code"):
            out.append(unescape(m.group("code")), style=_join(base, STYLE["code"]))
        elif m.group("angle"):
            shown, style = _angle(m.group("angle")[1:-1], names)
            out.append(shown, style=_join(base, style))
        elif m.group("bold") is not None:
            _inline(m.group("bold"), out, _join(base, "bold"), names)
        elif m.group("italic") is not None:
            _inline(m.group("italic"), out, _join(base, "italic"), names)
        else:
            _inline(m.group("strike"), out, _join(base, STYLE["strike"]), names)
        pos = m.end()
    if pos < len(text):
        out.append(emojize(unescape(text[pos:])), style=base or None)


def _join(a: str, b: str) -> str:
    return " ".join(s for s in (a, b) if s)


def mrkdwn(text: str, names: Mapping[str, str] | None = None, style: str = "") -> Text:
    """Slack mrkdwn as styled text: *bold*, _italic_, ~strike~, `code` (kept in backticks), ```blocks```,
    <links|with labels>, <@U1> mentions, &amp; entities and :emoji: codes."""
    names = names or {}
    out = Text()
    pos = 0
    for m in _CODE_BLOCK.finditer(text):
        _inline(text[pos:m.start()], out, style, names)
        out.append(unescape(m.group(1)), style=_join(style, STYLE["code"]))
        pos = m.end()
    _inline(text[pos:], out, style, names)
    return out


def text_object(obj: dict | None, names: Mapping[str, str] | None = None, style: str = "") -> Text:
    """A Block Kit text object (plain_text or mrkdwn)."""
    if not isinstance(obj, dict):
        return Text(str(obj or ""), style=style or "")
    raw = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(raw, names, style)
    return Text(emojize(raw) if obj.get("emoji", True) else raw, style=style or "")


def _plain(obj: dict | None) -> str:
    return text_object(obj).plain


# ------------------------------------------------------------------------------------------------ blocks

Numbering = Callable[[dict, str], int]  # (element, block_id) -> the number to show for it


class _Surface:
    def __init__(self, names: Mapping[str, str], first_number: int, tz: str, number: Numbering | None = None):
        self.names, self.tz = names, tz
        self.out = Rendered()
        self.next_number = first_number
        self._number = number

    def take_number(self, el: dict, block_id: str) -> int:
        if self._number is not None:
            return self._number(el, block_id)
        self.next_number += 1
        return self.next_number - 1

    def line(self, text: Text | str = "", style: str = "") -> None:
        self.out.lines.append(text if isinstance(text, Text) else Text(text, style=style or ""))

    def lines(self, text: Text) -> None:
        self.out.lines.extend(text.split("\n", allow_blank=True) if text.plain else [text])

    def button(self, el: dict, block_id: str) -> Text:
        label = _plain(el.get("text")) or el.get("value") or "button"
        b = Button(self.take_number(el, block_id), label, el, block_id)
        self.out.buttons.append(b)
        style = {"primary": STYLE["primary"], "danger": STYLE["danger"]}.get(str(el.get("style")), STYLE["button"])
        shown = Text(f"[{b.number}] ", style=style)
        shown.append(label, style=style)
        if el.get("url"):
            shown.append(f" ({el['url']})", style=STYLE["link"])
        return shown

    def control(self, el: dict, block_id: str) -> Text:
        """A date picker or menu on a message: numbered like a button, `:click N` asks for its value."""
        kind = el.get("type", "")
        label = _plain(el.get("placeholder")) if el.get("placeholder") else ""
        label = label or ("⋯" if kind == "overflow" else f"pick {CONTROLS[kind]}")
        b = Button(self.take_number(el, block_id), label, el, block_id)
        self.out.buttons.append(b)
        shown = Text(f"[{b.number}] ", style=STYLE["button"])
        shown.append(label, style=STYLE["button"])
        opts = _all_options(el)
        initial = el.get("initial_option")
        if opts:
            listed = " / ".join(_plain(o.get("text")) for o in opts[:8]) + (" / …" if len(opts) > 8 else "")
            chosen = f" = {_plain(initial.get('text'))}" if isinstance(initial, dict) else ""
            shown.append(f" (menu{chosen}: {listed})", style=STYLE["hint"])
        else:
            shown.append(f" ({CONTROLS[kind]}{self.initial_time(el).replace(': ', ' = ', 1)})", style=STYLE["hint"])
        return shown

    def element(self, el: dict, block_id: str) -> Text:
        """An interactive element shown inline (actions block, section accessory, context image)."""
        kind = el.get("type", "")
        if kind == "button":
            return self.button(el, block_id)
        if kind == "image":
            return Text(f"[image: {el.get('alt_text') or 'picture'}]", style=STYLE["context"])
        if kind in CONTROLS:
            return self.control(el, block_id)
        if kind.endswith("_select"):
            return Text(f"({kind.replace('_', ' ')})", style=STYLE["hint"])
        return Text(f"[{kind or 'element'}]", style=STYLE["hint"])

    def initial_time(self, el: dict) -> str:
        if el.get("initial_date_time"):
            return ": " + local_time(el["initial_date_time"], self.tz)
        if el.get("initial_date"):
            return f": {el['initial_date']}"
        if el.get("initial_time"):
            return f": {el['initial_time']}"
        return ""

    def block(self, i: int, block: dict) -> None:
        kind = block.get("type")
        block_id = block.get("block_id") or f"block{i}"
        if kind == "header":
            title = text_object(block.get("text"), self.names, STYLE["header"])
            self.line(title)
            self.line("━" * max(3, min(len(title.plain), 60)), STYLE["rule"])
        elif kind == "section":
            self.section(block, block_id)
        elif kind == "context":
            row = Text(style=STYLE["context"])
            for el in block.get("elements") or []:
                if row.plain:
                    row.append("  ")
                if el.get("type") in ("mrkdwn", "plain_text"):
                    row.append_text(text_object(el, self.names, STYLE["context"]))
                else:
                    row.append_text(self.element(el, block_id))
            self.lines(row)
        elif kind == "divider":
            self.line(RULE, STYLE["rule"])
        elif kind == "actions":
            row = Text()
            for el in block.get("elements") or []:
                if row.plain:
                    row.append("  ")
                row.append_text(self.element(el, block_id))
            self.line(row)
        elif kind == "context_actions":  # feedback buttons: pressed by label (:click good), left unnumbered
            labels = []  # so the numbers of every other button stay what they always were
            for el in block.get("elements") or []:
                for side in ("positive_button", "negative_button") if el.get("type") == "feedback_buttons" else ():
                    if isinstance(el.get(side), dict):
                        label = _plain(el[side].get("text")) or side.split("_")[0]
                        self.out.buttons.append(Button(0, label, {
                            "type": "button", "action_id": el.get("action_id"), "text": el[side].get("text"),
                            "value": el[side].get("value")}, block_id))
                        labels.append(label)
            if labels:
                self.line("Rate it: " + "  ".join(f"(:click {lab.split()[0].lower()}) {lab}" for lab in labels),
                          STYLE["context"])
        elif kind == "input":
            self.input(block, block_id)
        elif kind == "image":
            caption = _plain(block.get("title")) if block.get("title") else ""
            self.line(f"[image: {caption or block.get('alt_text') or 'picture'}]", STYLE["context"])
        elif kind == "rich_text":
            self.lines(Text(_rich_text(block), style=""))
        elif kind == "markdown":
            self.lines(mrkdwn(str(block.get("text") or ""), self.names))
        elif kind in ("file", "video"):
            self.line(f"[{kind}: {_plain(block.get('title')) if block.get('title') else block.get('external_id', '')}]",
                      STYLE["context"])
        else:
            self.line(f"[a {kind or 'unknown'} block the sandbox does not draw]", STYLE["hint"])

    def section(self, block: dict, block_id: str) -> None:
        text = text_object(block["text"], self.names) if block.get("text") else Text()
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            shown = self.element(accessory, block_id)
            if text.plain:
                text.append("  ")
            text.append_text(shown)
        if text.plain:
            self.lines(text)
        fields = [_field_text(f, self.names) for f in block.get("fields") or []]
        lefts = [len(f.plain) for f in fields[0::2] if len(f.plain) <= FIELD_MAX]
        width = max([FIELD_WIDTH - 2, *lefts]) + 2
        for k in range(0, len(fields), 2):
            left, right = fields[k], fields[k + 1] if k + 1 < len(fields) else None
            if right is None or len(left.plain) > FIELD_MAX or "\n" in left.plain + right.plain:
                self.lines(left)
                if right is not None:
                    self.lines(right)
                continue
            row = left.copy()
            row.append(" " * (width - len(left.plain)))
            row.append_text(right)
            self.line(row)

    def input(self, block: dict, block_id: str) -> None:
        el = block.get("element") or {}
        label = _plain(block.get("label")) or block_id
        optional = bool(block.get("optional"))
        f = Field(block_id, label, el, optional, _plain(block.get("hint")) if block.get("hint") else "")
        self.out.fields.append(f)
        row = Text()
        row.append(f"▸ {label}", style=STYLE["label"])
        row.append(" (optional)" if optional else "", style=STYLE["hint"])
        row.append(": ")
        row.append_text(describe_input(el, self.tz))
        self.line(row)
        if f.hint:
            self.line(f"  {f.hint}", STYLE["hint"])


def _all_options(el: dict) -> list[dict]:
    found = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _field_text(obj: dict, names: Mapping[str, str]) -> Text:
    """`*Amount*\\n$12,000` (a bold label over its value) reads best as `Amount: $12,000`."""
    raw = str(obj.get("text") or "") if isinstance(obj, dict) else str(obj)
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
        m = re.fullmatch(r"\*([^*\n]+)\*\n(.+)", raw, re.S)
        if m:
            out = Text()
            out.append(emojize(unescape(m.group(1))) + ": ", style=STYLE["label"])
            out.append_text(mrkdwn(m.group(2).replace("\n", " "), names))
            return out
    return text_object(obj, names)


def _rich_text(node) -> str:
    """The words of a rich_text block (lists as bullets, quotes with a bar)."""
    if isinstance(node, list):
        return "".join(_rich_text(n) for n in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return node.get("text", "")
    if kind == "link":
        return node.get("text") or node.get("url", "")
    if kind == "emoji":
        return EMOJI.get(node.get("name", ""), f":{node.get('name', '')}:")
    if kind == "user":
        return f"@{node.get('user_id', '')}"
    if kind == "channel":
        return f"#{node.get('channel_id', '')}"
    if kind == "rich_text_list":
        return "".join(f"• {_rich_text(item)}\n" for item in node.get("elements") or [])
    if kind == "rich_text_quote":
        return "│ " + _rich_text(node.get("elements") or []) + "\n"
    if kind == "rich_text_preformatted":
        return _rich_text(node.get("elements") or []) + "\n"
    return _rich_text(node.get("elements") or [])


def local_time(epoch: int | float, tz: str) -> str:
    local = datetime.fromtimestamp(int(epoch), UTC).astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def describe_input(el: dict, tz: str = "UTC") -> Text:
    """What a modal input asks for, with its current (initial) value."""
    kind = el.get("type", "")
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        what = {"number_input": "a number", "email_text_input": "an email address",
                "url_text_input": "a web address"}.get(kind, "text" + (", several lines" if el.get("multiline") else ""))
        out = Text(what, style=STYLE["hint"])
        if el.get("initial_value"):
            out.append(" = ", style=STYLE["hint"])
            out.append(str(el["initial_value"]).replace("\n", " "), style=STYLE["input"])
        elif el.get("placeholder"):
            out.append(f", e.g. {_plain(el['placeholder'])}", style=STYLE["hint"])
        return out
    if kind in ("static_select", "radio_buttons", "multi_static_select", "checkboxes"):
        opts = _all_options(el)
        out = Text("one of: " if kind in ("static_select", "radio_buttons") else "any of: ", style=STYLE["hint"])
        out.append(", ".join(_plain(o.get("text")) for o in opts[:12]) + (", …" if len(opts) > 12 else ""),
                   style=STYLE["hint"])
        initial = el.get("initial_option")
        if isinstance(initial, dict):
            out.append(" = ", style=STYLE["hint"])
            out.append(_plain(initial.get("text")), style=STYLE["input"])
        return out
    if kind == "datetimepicker":
        out = Text("a date and time", style=STYLE["hint"])
        if el.get("initial_date_time"):
            out.append(" = ", style=STYLE["hint"])
            out.append(local_time(el["initial_date_time"], tz), style=STYLE["input"])
        return out
    if kind == "datepicker":
        return Text("a date" + (f" = {el['initial_date']}" if el.get("initial_date") else ""), style=STYLE["hint"])
    if kind == "timepicker":
        return Text("a time" + (f" = {el['initial_time']}" if el.get("initial_time") else ""), style=STYLE["hint"])
    return Text(kind.replace("_", " ") or "an input", style=STYLE["hint"])


def render_blocks(blocks: Iterable[dict] | None, text: str | None = None, *, names: Mapping[str, str] | None = None,
                  first_number: int = 1, tz: str = "UTC", number: Numbering | None = None) -> Rendered:
    """A message's (or view's) blocks as lines; the fallback `text` when there are no blocks."""
    surface = _Surface(names or {}, first_number, tz, number)
    blocks = [b for b in (blocks or []) if isinstance(b, dict)]
    if not blocks:
        if text:
            surface.lines(mrkdwn(str(text), names))
        return surface.out
    for i, block in enumerate(blocks):
        surface.block(i, block)
    return surface.out


def render_view(view: dict, *, names: Mapping[str, str] | None = None, tz: str = "UTC",
                title: bool = True, number: Numbering | None = None) -> Rendered:
    """A modal or Home tab: its title line, then its blocks, then its submit/close buttons (for modals)."""
    out = Rendered()
    if title and view.get("title"):
        out.lines.append(Text(_plain(view["title"]), style=STYLE["header"]))
    body = render_blocks(view.get("blocks"), names=names, tz=tz, number=number)
    out.lines += body.lines
    out.buttons, out.fields = body.buttons, body.fields
    if view.get("type") == "modal":
        foot = Text()
        if view.get("submit"):
            foot.append(f"<{_plain(view['submit'])}>", style=STYLE["primary"])
        if view.get("close"):
            foot.append(("  " if foot.plain else "") + f"<{_plain(view['close'])}>", style=STYLE["hint"])
        if foot.plain:
            out.lines.append(foot)
    return out
