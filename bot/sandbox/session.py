"""One `hardno try` session: read a line, send it to the real app the way Slack would, show what the bot
posted.

Everything the app does reaches the fake Slack as Web API calls (or response_url posts); the session
watches them through `FakeSlack.on_call` and, after each request, waits until the app has finished
(`SlackDriver.settle`: no listener still running) before drawing them, so output is deterministic.

Long (~900 lines) for one job, the read-eval-print loop: each sandbox command (`:click`, `:time`, `:as`,
`:reply`, forms, streamed text) is a short method of `Sandbox` sharing its state (who you are, the clock,
the messages shown so far); drawing Block Kit as text is `bot/sandbox/render.py`, the stand-in Slack
`bot/sandbox/fakeslack.py`.
"""

from __future__ import annotations

import difflib
import io
import itertools
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text

from bot.sandbox import workspace
from bot.sandbox.console import Console
from bot.sandbox.render import Button, Field, local_time, mrkdwn, render_blocks, render_view
from bot.sandbox.workspace import Person

log = logging.getLogger("hardno.try")

SETTLE = 90.0  # seconds the app may take on one request (an LLM draft has a 20 s timeout, retried once)
ANSWER = 5.0  # seconds to wait for the answer a request always gets (a /deal reply, a DM answer)

# Web API calls that put something in front of someone; the rest (users.info, conversations.open) are plumbing.
VISIBLE = {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.delete", "chat.scheduleMessage",
           "chat.startStream",
           "response_url", "views.open", "views.push", "views.update", "views.publish",
           "files.completeUploadExternal"}

HELP = """\
Type what a rep would type in Slack:
  /deal add Acme $12k next:friday      any /deal command (/deal help lists them)
  Globex said send me info              a chat line: a DM to the bot
Sandbox commands:
  :click N        press button N (a number means the same button for the whole session), or
                  :click won, by label on the last message; on a date picker or a menu, it asks
                  what to pick
  :digest         run the morning digest for you now
  :board [week|month|quarter]   post the leaderboard to #sales
  :time           show the sandbox time; :time +3d, :time -2h, :time 2026-12-01 09:00, :time now
                  (forward, it runs the scheduler's jobs: what came due is delivered)
  :as dana        be someone else (you, dana, ben)
  :seed           load a demo pipeline for you (a dozen deals with histories)
  :home           open your App Home
  :log TEXT       the "Log to a deal" message shortcut, on a message saying TEXT
  :reply TEXT     answer in the thread of hardno's latest message in your DM (a practice drill's
                  prospect line: /deal practice send-info, then :reply with your answer)
  :help           this; :quit (or Ctrl-D) to leave
In a form: Enter keeps the value shown in [brackets], - clears it, \\n starts a new line in a
several-line text, :cancel (or Ctrl-C) closes the form."""

STREAMING = ("chat.startStream", "chat.appendStream", "chat.stopStream")
_MD_ESCAPE = re.compile(r"\\([\\`*_~\[\]#|])")


def _unmarkdown(text: str) -> str:
    """What a streamed piece (handlers/coach_stream.markdown_safe) shows as: the plain text."""
    return _MD_ESCAPE.sub(r"\1", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


COMMANDS = ("click", "digest", "board", "time", "as", "seed", "home", "log", "reply", "help", "quit", "exit")


@dataclass
class Msg:
    """Something the bot put on screen: a message (by channel and ts) or an App Home."""

    channel: str
    ts: str
    text: str = ""
    blocks: list = field(default_factory=list)
    audience: str | None = None  # the only user who sees it (DMs, ephemeral messages, Home); None: channel
    ephemeral: bool = False
    view_id: str | None = None  # an App Home
    thread_ts: str | None = None  # a reply in the thread of that message
    buttons: list[Button] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.channel, self.ts


@dataclass(frozen=True)
class Origin:
    """Where a response_url leads back to: the command or the clicked message that carried it."""

    channel: str
    user: str
    message: tuple[str, str] | None = None  # the clicked message's key


class ButtonNumbers:
    """Button numbers unique for the whole session: once shown, a number means that button of that message
    until the message is gone. A message redrawn after a click keeps the numbers of the buttons it still
    has (a button is the same when its type, action_id and value are), and new buttons get new numbers,
    so `:click 13` on a digest still means the same button after other messages arrive below it."""

    def __init__(self) -> None:
        self._next = 1
        self._given: dict[tuple, int] = {}

    def for_message(self, key: tuple[str, str]) -> Callable[[dict, str], int]:
        seen: dict[tuple, int] = {}  # the same button twice on one message still gets two numbers

        def number(el: dict, block_id: str) -> int:
            ident = (el.get("type", "button"), el.get("action_id"), str(el.get("value")))
            seen[ident] = seen.get(ident, 0) + 1
            slot = (key, ident, seen[ident])
            if slot not in self._given:
                self._given[slot] = self._next
                self._next += 1
            return self._given[slot]

        return number


class Cancelled(Exception):
    """The user closed a form (`:cancel`, `:quit`, end of input)."""


class Sandbox:
    def __init__(self, driver, fake, console: Console, clock, store):
        self.driver, self.fake, self.console, self.clock, self.store = driver, fake, console, clock, store
        self.services = driver.app.services
        self.user: Person = workspace.YOU
        self.names = workspace.names()
        self.messages: dict[tuple[str, str], Msg] = {}
        self.last_buttons: Msg | None = None
        self.numbers = ButtonNumbers()
        self.origins: dict[str, Origin] = {}
        self.quitting = False
        self.quiet = False  # :seed: run requests without drawing them
        self._want_home = False
        self._calls: list = []
        self._shown = 0
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._block_errors_seen = 0
        fake.on_call = self._observe

    # -- watching the fake Slack ------------------------------------------------------------------------
    def _observe(self, call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        if call.method in STREAMING and call.ok and not self.quiet:
            self._stream_live(call)

    def _stream_live(self, call) -> None:
        """A streamed reply, drawn as its words arrive (on the fake Slack's thread, while the main one waits);
        the finished message is drawn again, whole, when the app updates it."""
        p = call.params
        text = _unmarkdown(str(p.get("markdown_text") or ""))
        if call.method == "chat.startStream":
            channel = (call.response or {}).get("channel") or str(p.get("channel"))
            self._heading(Msg(channel, "", audience=_dm_user(channel)), note="writing…")
            self.console.write(text)
        elif call.method == "chat.appendStream":
            self.console.write(text)
        else:  # chat.stopStream
            self.console.write(text + "\n")
            self.console.show()

    def mark(self) -> int:
        with self._cond:
            return len(self._calls)

    def calls_since(self, start: int) -> list:
        with self._cond:
            return list(self._calls[start:])

    def wait(self, start: int, expect: Callable | None = None, timeout: float = ANSWER) -> bool:
        """Wait until the app is done with what was sent since `start`: no listener still running, and
        (when given) a call matching `expect` has arrived. True when both hold."""
        if not self.driver.settle(SETTLE):
            self.console.warn(f"(hardno is still working after {SETTLE:.0f} s; showing what it posted so far)")
            return False
        if expect is None:
            return True
        with self._cond:
            arrived = self._cond.wait_for(lambda: any(expect(c) for c in self._calls[start:]), timeout)
        return self.driver.settle(SETTLE) and arrived

    # -- the loop ----------------------------------------------------------------------------------------
    def run(self) -> int:
        while not self.quitting:
            line = self.console.ask("> ", label=self.user.handle)
            if line is None:
                break
            self.handle(line)
        return 0

    def handle(self, line: str) -> None:
        """One line of input; whatever goes wrong is said, never raised (the loop goes on)."""
        text = line.strip()
        if not text:
            return
        for step in (lambda: self.dispatch(text), self.drain):
            try:
                step()
            except KeyboardInterrupt:  # Ctrl-C while waiting on the bot: stop waiting, keep the session
                self.console.note("(interrupted: whatever hardno still posts shows up after your next line)")
            except Exception as e:  # noqa: BLE001 - bad input, or a bug: say so and carry on
                log.debug("sandbox step failed", exc_info=True)
                self.console.warn(f"That didn't work: {type(e).__name__}: {e}")
            finally:
                self.quiet = False

    def dispatch(self, text: str) -> None:
        if text.startswith(":"):
            self.meta(text[1:])
        elif text.startswith("/"):
            self.slash(text)
        else:
            self.chat(text)

    def meta(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        name, arg = name.lower(), arg.strip()
        if name in ("quit", "exit", "q"):
            self.quitting = True
        elif name == "help":
            self.console.note(HELP)
        elif name == "click":
            self.click(arg)
        elif name == "digest":
            self.digest()
        elif name in ("board", "leaderboard"):
            self.board(arg or "week")
        elif name == "time":
            self.time(arg)
        elif name == "as":
            self.switch(arg)
        elif name == "seed":
            from bot.sandbox.seed import seed
            seed(self)
        elif name == "home":
            self.home()
        elif name == "log":
            self.shortcut(arg)
        elif name == "reply":
            self.reply(arg)
        elif name == "cancel":
            self.console.note("There is no open form to cancel.")
        else:
            close = difflib.get_close_matches(name, COMMANDS, n=1)
            hint = f" Did you mean :{close[0]}?" if close else ""
            self.console.warn(f"Unknown sandbox command “:{name[:40]}”.{hint} :help lists them.")

    # -- what a rep does in Slack ------------------------------------------------------------------------
    def slash(self, text: str) -> None:
        command, _, rest = text.partition(" ")
        if command.lower() != "/deal":
            self.console.warn(f"{command[:40]} isn't a hardno command: everything is under /deal (try /deal help).")
            return
        self.command(rest.strip())

    def command(self, text: str, user: Person | None = None) -> int:
        """`/deal <text>` typed in #sales; returns the mark before it (for the caller to inspect calls)."""
        user = user or self.user
        token = f"cmd{next(self._ids)}"
        self.origins[token] = Origin(workspace.SALES, user.id)
        start = self.mark()
        r = self.driver.command(text, user=user.id, channel=workspace.SALES, channel_name=workspace.SALES_NAME,
                                response_url=self.fake.response_url(token))
        self._answered(r, "/deal")
        self.wait(start, (lambda c: c.method in VISIBLE) if r.status == 200 else None)
        return start

    def chat(self, text: str, user: Person | None = None) -> int:
        """A line typed in the DM with the bot (a message.im event)."""
        user = user or self.user
        start = self.mark()
        r = self.driver.dm(text, user=user.id)
        self._answered(r, "that message")
        self.wait(start, (lambda c: c.method in VISIBLE) if r.status == 200 else None)
        return start

    def reply(self, text: str) -> None:
        """A line typed in the thread of the bot's latest top-level message in the DM (a message.im event)."""
        dm = self.fake.dm_channel_id(self.user.id)
        parent = next((m for m in reversed(self.messages.values())
                       if m.channel == dm and m.thread_ts is None and not m.ephemeral and m.view_id is None), None)
        if parent is None or not text:
            self.console.warn("Reply to what? Start a drill first (/deal practice send-info), then :reply "
                              "with your answer." if parent is None else "Reply what? For example :reply Happy to…")
            return
        start = self.mark()
        r = self.driver.dm(text, user=self.user.id, thread_ts=parent.ts)
        self._answered(r, "that reply")
        self.wait(start, (lambda c: c.method in VISIBLE) if r.status == 200 else None)

    def click(self, arg: str) -> None:
        last = self.last_buttons
        if last is None or not last.buttons:
            self.console.note("No message with buttons yet.")
            return
        found = self._numbered(arg) or (last, self._button(last, arg))
        msg, button = found
        if button is None:
            labels = "  ".join(f"[{b.number}] {b.label}" for b in last.buttons)
            self.console.warn(f"Which button? {labels} (for example :click {last.buttons[0].number})")
            return
        if msg.audience and msg.audience != self.user.id:
            other = workspace.by_id(msg.audience)
            who = other.handle if other else msg.audience
            self.console.note(f"That message is only visible to {who}: `:as {who}` first.")
            return
        answer = None
        if button.kind != "button":  # a date picker or a menu: ask what to pick, as a form field
            try:
                answer = self.ask_field(Field(button.block_id, button.label, button.element, optional=False),
                                        self.user)
            except Cancelled:
                self.console.note("(nothing was picked, nothing was sent)")
                return
        self.press(msg, button, self.user, answer)

    def press(self, msg: Msg, button: Button, user: Person, answer=None) -> int:
        el = button.element
        if el.get("url"):
            self.console.note(f"(opens {el['url']})")
        start = self.mark()
        if msg.view_id is not None:
            view = self.fake.views.get(msg.view_id) or {"id": msg.view_id, "type": "home", "blocks": msg.blocks}
            r = self.driver.press_element(el, button.block_id, user.id, view=view, answer=answer)
        else:
            token = f"click{next(self._ids)}"
            self.origins[token] = Origin(msg.channel, user.id, msg.key)
            message = None if msg.ephemeral else {"ts": msg.ts, "text": msg.text, "blocks": msg.blocks}
            r = self.driver.press_element(el, button.block_id, user.id, channel=msg.channel, message=message,
                                          ephemeral=msg.ephemeral, response_url=self.fake.response_url(token),
                                          answer=answer)
        if r.status == 404 and not el.get("url"):
            self.console.note(f"(hardno has no handler for the “{button.label}” button in this build)")
        else:
            self._answered(r, f"the “{button.label}” button")
        self.wait(start)
        return start

    def shortcut(self, text: str) -> None:
        """The "Log to a deal" message shortcut, on a message in #sales that says `text`."""
        if not text:
            self.console.warn("Log which message? For example :log Acme said maybe, try after Jan 15")
            return
        start = self.mark()
        r = self.driver.shortcut("log_to_deal", {"text": text, "user": self.user.id}, user=self.user.id,
                                 channel=workspace.SALES)
        self._answered(r, "the “Log to a deal” shortcut")
        self.wait(start, (lambda c: c.method in VISIBLE) if r.status == 200 else None)

    def _numbered(self, arg: str) -> tuple[Msg, Button] | None:
        """Button N of whichever message shows it (numbers are unique in the session)."""
        arg = arg.strip().strip("[]")
        if not arg.isdigit():
            return None
        for msg in reversed(self.messages.values()):
            button = next((b for b in msg.buttons if b.number == int(arg)), None)
            if button is not None:
                return msg, button
        return None

    @staticmethod
    def _button(msg: Msg, arg: str) -> Button | None:
        """A button of `msg` by label (or its only button)."""
        arg = arg.strip().strip("[]")
        if arg.isdigit():
            return None
        if not arg:
            return msg.buttons[0] if len(msg.buttons) == 1 else None
        key = arg.casefold()
        exact = [b for b in msg.buttons if b.label.casefold() == key]
        starts = [b for b in msg.buttons if b.label.casefold().startswith(key)]
        found = exact or starts
        return found[0] if len(found) == 1 else None

    def home(self) -> None:
        start = self.mark()
        self._want_home = True
        try:
            r = self.driver.home_opened(self.user.id)
            self._answered(r, "the Home tab")
            self.wait(start, (lambda c: c.method == "views.publish") if r.status == 200 else None)
            self.drain()
        finally:
            self._want_home = False

    # -- sandbox-only commands -------------------------------------------------------------------------
    def digest(self) -> None:
        run_digests = self._job("handlers.digest", "run_digests", "The nudger (the morning digest)")
        if run_digests is None:
            return
        said = self._run_post("The nudger", lambda out: run_digests(
            self.services, self.driver.client, ignore_hour=True, only_user=self.user.id, dry_run=False, out=out))
        if said is not None:
            self.console.note(f"No digest for {self.user.handle}" + (f" ({said})" if said else "") +
                              ". Nothing is stuck yet, or today's digest went out already: "
                              ":time +1d moves to tomorrow.")

    def board(self, period: str) -> None:
        period = period.lower()
        if period not in ("week", "month", "quarter"):
            self.console.warn("Which period? :board week, :board month or :board quarter.")
            return
        run_boards = self._job("handlers.board", "run_boards", "The leaderboard")
        if run_boards is None:
            return
        said = self._run_post("The leaderboard", lambda out: run_boards(
            self.services, self.driver.client, period=period, post=True, out=out))
        if said is not None:
            self.console.note("No leaderboard was posted" + (f" ({said})" if said else "") + ".")

    def _run_post(self, what: str, run: Callable[[io.StringIO], object]) -> str | None:
        """Run a scheduled job now; None when it failed (said so) or posted something the rep sees, else
        what it reported (maybe ""), for saying why nothing came."""
        start, out = self.mark(), io.StringIO()
        try:
            report = run(out)
        except Exception as e:  # noqa: BLE001 - someone else's module: report, keep the session
            log.debug("%s failed", what, exc_info=True)
            self.console.warn(f"{what} failed: {type(e).__name__}: {e}")
            return None
        self.drain()
        if any(c.method in VISIBLE for c in self.calls_since(start)):
            return None
        return _summary(report) or out.getvalue().strip()

    def _job(self, module: str, name: str, what: str):
        import importlib
        try:
            return getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                self.console.note(f"{what} isn't part of this build yet ({module.replace('.', '/')}.py is missing).")
                return None
            raise
        except AttributeError:
            self.console.note(f"{what} isn't ready in this build ({module} has no {name}).")
            return None

    def time(self, arg: str) -> None:
        if arg:
            before = self.clock.now()
            try:
                target = parse_time(arg, self.user.tz, before)
            except ValueError as e:
                self.console.warn(str(e))
                return
            self.clock.set(target)
        self.console.note(f"It is now {self.local_now()} for {self.user.handle}.")
        if arg and target > before:
            self.run_jobs()

    def run_jobs(self) -> None:
        """What `serve`'s scheduler would do at the new time: run its jobs (digests, boards, kudos, ...)
        once, so whatever came due meanwhile is delivered."""
        from bot.scheduler import jobs, run_job
        for job in jobs(crm=False):  # no stand-in HubSpot: sandbox deals never reach a real CRM
            run_job(job, self.services, self.driver.client)
        self.drain()

    def local_now(self, user: Person | None = None) -> str:
        return local_time(self.clock.now().timestamp(), (user or self.user).tz)

    def switch(self, arg: str) -> None:
        if not arg:
            who = ", ".join(f"{p.handle} ({p.tz})" for p in workspace.PEOPLE)
            self.console.note(f"You are {self.user.handle}. People here: {who}. :as dana switches.")
            return
        found = workspace.person(arg)
        if found is None:
            self.console.warn(f"There's no “{arg[:40]}” here: try {', '.join(p.handle for p in workspace.PEOPLE)}.")
            return
        self.user = found
        self.console.note(f"You are now {found.handle} ({found.real_name}, {found.tz}): "
                          f"it is {self.local_now(found)} there.")

    # -- drawing what the bot posted ---------------------------------------------------------------------
    def _answered(self, r, what: str) -> None:
        if r.status == 404:
            self.console.note(f"(hardno has no handler for {what} in this build)")
        elif r.status != 200:
            self.console.warn(f"hardno answered {what} with HTTP {r.status}: {r.body[:200]}")

    def drain(self) -> None:
        """Draw every call since the last drain, then run any modal the app opened."""
        modals: list[str] = []
        while True:
            with self._cond:
                if self._shown >= len(self._calls):
                    break
                call = self._calls[self._shown]
                self._shown += 1
            if self.quiet:
                continue
            try:
                self._show_call(call, modals)
            except Exception as e:  # noqa: BLE001 - one odd payload must not hide the rest
                log.debug("could not draw %s", call.method, exc_info=True)
                self.console.warn(f"(could not draw a {call.method} call: {type(e).__name__}: {e})")
        self._show_block_errors()
        for view_id in modals:
            try:
                self.modal(view_id)
            except Cancelled:
                self.console.note("Closed the form; nothing was sent.")

    def _show_block_errors(self) -> None:
        errors = list(self.fake.block_errors)
        for e in errors[self._block_errors_seen:]:
            self.console.warn(f"Slack would reject this Block Kit: {e}")
        self._block_errors_seen = len(errors)

    def _show_call(self, call, modals: list) -> None:
        method, p = call.method, call.params
        if method not in VISIBLE:
            if not call.ok and method not in ("file_upload",):
                self.console.warn(f"(Slack answered {method} with an error: {call.error})")
            return
        if not call.ok:
            self.console.warn(f"(Slack refused {method}: {call.error})")
            return
        resp = call.response if isinstance(call.response, dict) else {}
        if method == "chat.startStream":  # drawn live (_stream_live); kept so its update finds it
            channel = resp.get("channel") or str(p.get("channel"))
            self.messages[(channel, resp.get("ts", ""))] = Msg(channel, resp.get("ts", ""), audience=_dm_user(channel))
        elif method == "chat.postMessage":
            channel = resp.get("channel") or str(p.get("channel"))
            self.show(Msg(channel, resp.get("ts", ""), p.get("text") or "", p.get("blocks") or [],
                          audience=_dm_user(channel), thread_ts=p.get("thread_ts") or None))
        elif method == "chat.postEphemeral":
            channel = self._channel_id(p.get("channel"))
            self.show(Msg(channel, resp.get("message_ts") or self._local_ts(), p.get("text") or "",
                          p.get("blocks") or [], audience=p.get("user"), ephemeral=True))
        elif method == "chat.update":
            channel, ts = resp.get("channel") or str(p.get("channel")), str(p.get("ts"))
            old = self.messages.get((channel, ts))
            msg = Msg(channel, ts, p.get("text") or "", p.get("blocks") or [],
                      audience=old.audience if old else _dm_user(channel))
            self.show(msg, updated=True)
        elif method == "chat.delete":
            gone = (resp.get("channel") or str(p.get("channel")), str(p.get("ts")))
            deleted = self.messages.pop(gone) if gone in self.messages else None
            where = self._where(deleted) if deleted else p.get("channel")
            self.console.note(f"(hardno deleted a message in {where})")
        elif method == "chat.scheduleMessage":
            when = local_time(int(p.get("post_at") or 0), self.user.tz)
            self.show(Msg(resp.get("channel") or str(p.get("channel")), self._local_ts(), p.get("text") or "",
                          p.get("blocks") or []), note=f"scheduled for {when}")
        elif method == "response_url":
            self._show_response(p)
        elif method in ("views.open", "views.push"):
            modals.append(resp["view"]["id"])
        elif method == "views.update":
            view = resp.get("view") or {}
            if view.get("type") == "home":
                self._show_home(view, p)
            else:
                self.console.note("(hardno updated an open form)")
        elif method == "views.publish":
            self._show_home(resp.get("view") or {}, p)
        elif method == "files.completeUploadExternal":
            for f in resp.get("files") or []:
                self._show_file(f, p)

    def _show_response(self, p: dict) -> None:
        origin = self.origins.get(str(p.get("token")))
        channel = origin.channel if origin else workspace.SALES
        user = origin.user if origin else self.user.id
        clicked = self.messages.get(origin.message) if origin and origin.message else None
        if _truthy(p.get("delete_original")):
            if clicked:
                self.messages.pop(clicked.key, None)
                self.console.note(f"(hardno removed the message in {self._where(clicked)})")
            return
        in_channel = p.get("response_type") == "in_channel"
        if clicked is not None and _truthy(p.get("replace_original")):
            msg = Msg(clicked.channel, clicked.ts, p.get("text") or "", p.get("blocks") or [],
                      audience=clicked.audience, ephemeral=clicked.ephemeral)
            self.show(msg, updated=True)
            return
        self.show(Msg(channel, self._local_ts(), p.get("text") or "", p.get("blocks") or [],
                      audience=None if in_channel else user, ephemeral=not in_channel))

    def _show_home(self, view: dict, p: dict) -> None:
        user = p.get("user_id") or self.user.id
        msg = Msg(f"home:{user}", view.get("id", ""), "", view.get("blocks") or [], audience=user,
                  view_id=view.get("id"))
        self.messages[msg.key] = msg
        if self._want_home:
            self.show(msg)
        else:
            who = workspace.by_id(user)
            self.console.note(f"(hardno updated {who.handle if who else user}'s App Home: :home shows it)")

    def _show_file(self, f: dict, p: dict) -> None:
        channel = self._channel_id(p.get("channel_id")) if p.get("channel_id") else ""
        data = self.fake.uploaded_files.get(f.get("id"), b"")
        lines = [Text(f"📎 {f.get('title') or f.get('name')} ({f.get('name')}, {len(data):,} bytes)", style="bold")]
        if p.get("initial_comment"):
            lines.insert(0, mrkdwn(str(p["initial_comment"]), self.names))
        try:
            content = data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            content = []
        for row in content[:6]:
            lines.append(Text("  " + row[:160], style="bright_black"))
        if len(content) > 6:
            lines.append(Text(f"  … {len(content) - 6} more lines", style="bright_black"))
        self._heading(Msg(channel, "", audience=_dm_user(channel)))
        for line in lines:
            self.console.show(line)
        self.console.show()

    def show(self, msg: Msg, *, updated: bool = False, note: str = "") -> None:
        """Draw a message (or Home) and remember it; the last one with buttons is what :click presses."""
        self.messages.pop(msg.key, None)  # re-inserted: the newest message is the last one in the dict
        self.messages[msg.key] = msg
        # an App Home is one surface per user, whatever its view id
        number = self.numbers.for_message(("home", msg.audience or "") if msg.view_id is not None else msg.key)
        if msg.view_id is not None:
            view = self.fake.views.get(msg.view_id) or {"type": "home", "blocks": msg.blocks}
            shown = render_view(view, names=self.names, tz=self._tz(msg.audience), number=number)
        else:
            shown = render_blocks(msg.blocks, msg.text, names=self.names, tz=self._tz(msg.audience),
                                  number=number)
        msg.buttons = shown.buttons
        if msg.buttons:
            self.last_buttons = msg
        elif self.last_buttons is not None and self.last_buttons.key == msg.key:
            self.last_buttons = None  # its buttons are gone (e.g. replaced by a plain confirmation)
        self._heading(msg, updated=updated, note=note)
        for line in shown.lines:
            self.console.show(line)
        self.console.show()

    def _heading(self, msg: Msg, *, updated: bool = False, note: str = "") -> None:
        bits = ["App Home" if msg.view_id is not None else "hardno", self._where(msg)]
        if msg.thread_ts:
            bits.append("in the thread")
        if updated:
            bits.append("updated")
        if note:
            bits.append(note)
        self.console.show(Text("── " + " · ".join(b for b in bits if b) + " ──", style="bold blue"))

    def _where(self, msg: Msg) -> str:
        who = workspace.by_id(msg.audience) if msg.audience else None
        name = who.handle if who else (msg.audience or "")
        if msg.view_id is not None:
            return name
        if msg.channel.startswith("D"):
            return f"DM with {name}"
        where = "#" + self.names.get(msg.channel, msg.channel)
        return f"{where}, only visible to {name}" if msg.ephemeral else where

    def _tz(self, user_id: str | None) -> str:
        who = workspace.by_id(user_id) if user_id else None
        return (who or self.user).tz

    def _channel_id(self, ref) -> str:
        ref = str(ref or "")
        if ref.startswith("#"):
            return next((cid for cid, n in self.names.items() if n == ref[1:] and cid.startswith("C")), ref)
        if workspace.by_id(ref):
            return self.fake.dm_channel_id(ref)
        return ref

    def _local_ts(self) -> str:
        return f"local.{next(self._ids)}"

    # -- modals --------------------------------------------------------------------------------------------
    def modal(self, view_id: str) -> None:
        """Ask a modal's inputs one by one, then submit it as a view_submission (again after errors)."""
        view = self.fake.views.get(view_id)
        if view is None:
            self.console.warn("(hardno opened a form the sandbox can't find)")
            return
        user = self.user
        while True:
            shown = render_view(view, names=self.names, tz=user.tz, title=False)
            self.console.show(Text("── form · " + _plain_title(view) + " ──", style="bold magenta"))
            for line in shown.lines:
                self.console.show(line)
            # The lines typed next answer the fields, one each, until the form is sent or closed.
            self.console.note("Answer each field on its own line (Enter skips an optional one); :cancel closes the form.")
            answers: dict = {}
            to_ask: list[Field] = list(shown.fields)
            while True:
                for f in to_ask:
                    answers[f.block_id] = self.ask_field(f, user)
                start = self.mark()
                r = self.driver.submit_view(view, answers, user.id)
                ack = r.json()
                if r.status != 200:
                    self._answered(r, "the form")
                    self.wait(start)
                    return
                action = ack.get("response_action")
                if action == "errors":
                    errors = ack.get("errors") or {}
                    for f in shown.fields:
                        if f.block_id in errors:
                            self.console.warn(f"  ✗ {f.label}: {errors[f.block_id]}")
                    to_ask = [f for f in shown.fields if f.block_id in errors]
                    if not to_ask:
                        self.console.warn(f"  ✗ {errors}")
                        self.wait(start)
                        return
                    continue
                self.wait(start)
                if action in ("update", "push") and isinstance(ack.get("view"), dict):
                    new_id = view["id"] if action == "update" else f"Vsandbox{next(self._ids)}"
                    view = {**ack["view"], "id": new_id, "state": {"values": {}}, "hash": "sandbox"}
                    self.fake.views[new_id] = view
                    break  # draw and ask the new view
                self.console.note("(form sent)")
                self.drain()
                return

    def ask_field(self, f: Field, user: Person):
        """One input's answer, in the shape `view_state` takes; raises Cancelled."""
        kind, el = f.kind, f.element
        options = _options(el)
        initial = _initial(el)
        if options:
            shown = "  ".join(f"{i}) {_opt_label(o)}" for i, o in enumerate(options, 1))
            self.console.show(Text(f"    {shown}", style="bright_black"))
        while True:
            shown_initial = _initial_label(el, user.tz)
            prompt = f"  {f.label}{' (optional)' if f.optional else ''}{f' [{shown_initial}]' if shown_initial else ''}: "
            try:
                line = self.console.ask(prompt, interruptible=True)
            except KeyboardInterrupt:  # Ctrl-C in a form closes it, as Esc would in Slack
                raise Cancelled() from None
            if line is None:
                self.quitting = True
                raise Cancelled()
            answer = line.strip()
            if answer.lower() in (":cancel", ":quit", ":exit", ":q"):
                if answer.lower() != ":cancel":
                    self.quitting = True
                raise Cancelled()
            if not answer:
                if initial is not None or f.optional:
                    return initial
                self.console.warn(f"  {f.label} is required (:cancel closes the form).")
                continue
            if answer == "-":
                if f.optional:
                    return None
                self.console.warn(f"  {f.label} is required (:cancel closes the form).")
                continue
            try:
                return self._parse_field(kind, el, answer, options, user)
            except ValueError as e:
                self.console.warn(f"  {e}")

    def _parse_field(self, kind: str, el: dict, answer: str, options: list[dict], user: Person):
        if kind in ("static_select", "radio_buttons", "overflow"):
            return _pick_option(options, answer)["value"]
        if kind in ("multi_static_select", "checkboxes"):
            return [_pick_option(options, a.strip())["value"] for a in answer.split(",") if a.strip()]
        if kind == "datetimepicker":
            from handlers.domain.when import WhenError, parse_when
            try:
                when = parse_when(answer, user.tz, self.clock.now())
            except WhenError as e:
                raise ValueError(str(e)) from None
            self.console.show(Text(f"    → {local_time(when.timestamp(), user.tz)}", style="bright_black"))
            return int(when.timestamp())
        if kind == "datepicker":
            from handlers.domain.when import WhenError, parse_when
            try:
                when = parse_when(answer, user.tz, self.clock.now())
            except WhenError as e:
                raise ValueError(str(e)) from None
            return when.astimezone(ZoneInfo(user.tz)).date()
        if kind == "timepicker":
            m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", answer)
            if not m:
                raise ValueError("Type a time as HH:MM, like 09:30.")
            return f"{int(m.group(1)):02d}:{m.group(2)}"
        if kind == "number_input":
            try:
                float(answer)
            except ValueError:
                raise ValueError("Type a number.") from None
            return answer
        if kind in ("plain_text_input", "email_text_input", "url_text_input"):
            limit = el.get("max_length")
            if limit and len(answer) > int(limit):
                raise ValueError(f"At most {limit} characters here.")
            if el.get("min_length") and len(answer) < int(el["min_length"]):
                raise ValueError(f"At least {el['min_length']} characters here.")
            return answer.replace("\\n", "\n") if el.get("multiline") else answer
        raise ValueError(f"The sandbox can't fill a {kind or 'this kind of'} input; press Enter to leave it empty.")


# -- helpers --------------------------------------------------------------------------------------------------

def _dm_user(channel: str) -> str | None:
    return channel[1:] if channel.startswith("D") and workspace.by_id(channel[1:]) else None


def _truthy(v) -> bool:
    return v is True or str(v).lower() in ("true", "1")


def _summary(report) -> str:
    summary = getattr(report, "summary", None)
    try:
        return str(summary()) if callable(summary) else ""
    except Exception:  # noqa: BLE001
        return ""


def _plain_title(view: dict) -> str:
    title = view.get("title") or {}
    return str(title.get("text") if isinstance(title, dict) else title) or view.get("callback_id", "form")


def _options(el: dict) -> list[dict]:
    found = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _opt_label(o: dict) -> str:
    text = o.get("text") or {}
    return str(text.get("text") if isinstance(text, dict) else text)


def _pick_option(options: list[dict], answer: str) -> dict:
    if answer.isdigit() and 1 <= int(answer) <= len(options):
        return options[int(answer) - 1]
    key = answer.casefold()
    exact = [o for o in options if _opt_label(o).casefold() == key or str(o.get("value", "")).casefold() == key]
    if exact:
        return exact[0]
    starts = [o for o in options if _opt_label(o).casefold().startswith(key)]
    if len(starts) == 1:
        return starts[0]
    inside = [o for o in options if key in _opt_label(o).casefold()]
    if len(inside) == 1:
        return inside[0]
    raise ValueError(f"Pick one of the {len(options)} options by number (1-{len(options)}) or by name.")


def _initial(el: dict):
    """What Slack would submit for an input the rep leaves as it is."""
    kind = el.get("type", "")
    if kind in ("static_select", "radio_buttons", "overflow"):
        opt = el.get("initial_option")
        return opt.get("value") if isinstance(opt, dict) else None
    if kind in ("multi_static_select", "checkboxes"):
        return [o.get("value") for o in el.get("initial_options") or []] or None
    if kind == "datetimepicker":
        return el.get("initial_date_time")
    if kind == "datepicker":
        return el.get("initial_date")
    if kind == "timepicker":
        return el.get("initial_time")
    return el.get("initial_value") or None


def _initial_label(el: dict, tz: str) -> str:
    kind = el.get("type", "")
    if kind in ("static_select", "radio_buttons"):
        opt = el.get("initial_option")
        return _opt_label(opt) if isinstance(opt, dict) else ""
    if kind == "datetimepicker" and el.get("initial_date_time"):
        return local_time(el["initial_date_time"], tz)
    value = _initial(el)
    if isinstance(value, list):
        return ", ".join(value)
    text = str(value or "").replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


_REL = re.compile(r"([+-])\s*((?:\d+\s*(?:w|d|h|m|min|s)\s*)+)", re.I)
_PART = re.compile(r"(\d+)\s*(min|w|d|h|m|s)", re.I)
_UNIT = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "min": "minutes", "s": "seconds"}


def parse_time(arg: str, tz: str, now: datetime) -> datetime:
    """`:time` arguments: `+3d`, `-2h`, `+1d2h`, `now`, `2026-12-01 09:00` / `2026-12-01` (in `tz`),
    or a phrase like `next monday 9am`. Raises ValueError with a hint."""
    text = " ".join(arg.split())
    if text.lower() == "now":
        from datetime import UTC
        return datetime.now(UTC)
    m = _REL.fullmatch(text)
    if m:
        delta = timedelta()
        for n, unit in _PART.findall(m.group(2)):
            delta += timedelta(**{_UNIT[unit.lower()]: int(n)})
        return now + delta if m.group(1) == "+" else now - delta
    try:
        local = datetime.fromisoformat(text.replace(" ", "T", 1) if re.match(r"\d{4}-\d\d-\d\d \d", text) else text)
    except ValueError:
        local = None
    if local is not None:
        return local.replace(tzinfo=ZoneInfo(tz)) if local.tzinfo is None else local
    from handlers.domain.when import WhenError, parse_when
    try:
        return parse_when(text, tz, now)
    except WhenError:
        raise ValueError(f"I can't read “{text[:40]}” as a time: try :time +3d, :time -2h, "
                         ":time 2026-12-01 09:00 or :time now.") from None
