"""`hardno try`: the whole bot in a terminal, no Slack workspace needed.

The real Bolt app and its handlers run in-process behind the real HTTP runner on loopback; a built-in
fake Slack (`bot.sandbox.fakeslack`) answers their Web API calls; `bot.driver` sends the signed requests Slack
would send. The sandbox has its own database (`hardno-try.db` by default) and a fixed demo workspace.
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from bot.config import ConfigError, load_settings

__all__ = ["run_sandbox"]


def database_url(db: str) -> tuple[str, Path | None]:
    """The SQLAlchemy URL for `--db` (a file path, or a URL as is) and the file, when it is one."""
    if "://" in db:
        path = Path(db.split(":///", 1)[1]) if db.startswith("sqlite:///") and db != "sqlite:///:memory:" else None
        return db, path
    path = Path(db).expanduser()
    return f"sqlite:///{path.resolve()}", path


def remove_database(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        p.unlink(missing_ok=True)


class _OneLine(logging.Formatter):
    """Warnings from the app on stderr, one line each (a sandbox user wants the gist, not a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().strip().splitlines()[0] if record.getMessage().strip() else ""
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            msg += f" ({type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''})"
        return f"hardno try: {record.levelname.lower()}: {msg}"


class _NotUnhandled(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # the session says it in its own words
        return not record.getMessage().startswith("Unhandled request")


@contextmanager
def _quiet_logging(stream: TextIO):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_OneLine())
    handler.addFilter(_NotUnhandled())
    handler.setLevel(logging.WARNING)
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def run_sandbox(db: str = "hardno-try.db", fresh: bool = False, stdin: TextIO | None = None,
                stdout: TextIO | None = None) -> int:
    """Run an interactive (or scripted, when stdin is piped) sandbox session; the exit status."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    env = load_settings()  # the coach and digest settings, read exactly as `serve` reads them
    url, path = database_url(db)
    if path is not None and not path.parent.exists():
        raise ConfigError(f"--db {db}: the directory {path.parent} doesn't exist")
    if fresh:
        if path is None:
            raise ConfigError("--fresh deletes a sandbox database file; it can't empty a database URL")
        remove_database(path)

    from bot.clock import Clock
    from bot.driver import SlackDriver
    from bot.sandbox import workspace
    from bot.sandbox.console import Console
    from bot.sandbox.fakeslack import FakeSlack
    from bot.sandbox.render import local_time
    from bot.sandbox.session import Sandbox
    from storage import Store, upgrade

    with _quiet_logging(sys.stderr):
        store = Store.from_url(url)
        fake = driver = None
        try:
            upgrade(store.engine)
            fake = FakeSlack(team_name="Demo Sales", team_domain="demo-sales").start()
            workspace.build(fake)
            clock = Clock()  # the real time, until :time moves it
            driver = SlackDriver(store, clock, fake, openai_api_key=env.openai_api_key,
                                 openai_base_url=env.openai_base_url, openai_model=env.openai_model,
                                 hardno_digest_hour=env.hardno_digest_hour,
                                 hardno_leaderboard_cron=env.hardno_leaderboard_cron)
            console = Console(stdin, stdout)
            sandbox = Sandbox(driver, fake, console, clock, store)
            _banner(sandbox, db if path is None else str(path), env, local_time(clock.now().timestamp(),
                                                                                  workspace.YOU.tz))
            code = sandbox.run()
            console.note(f"Bye. The sandbox keeps its data in {db} (start over with --fresh).")
            return code
        finally:
            if driver is not None:
                driver.close()
            if fake is not None:
                fake.stop()
            store.dispose()


def _banner(sb, db: str, env, now: str) -> None:
    from bot.driver import TEAM
    from bot.sandbox import workspace
    from handlers.domain.model import Status
    you, mates = workspace.YOU, workspace.PEOPLE[1:]
    with sb.store.tx(TEAM) as tx:
        mine = len(tx.deals(you.id, list(Status)))
    coach = (f"the LLM ({env.openai_model})" if env.openai_api_key is not None
             else "built-in templates (set OPENAI_API_KEY to draft with an LLM)")
    c = sb.console
    c.show("hardno try: the real bot in a pretend Slack workspace", style="bold")
    c.note(f"You are @{you.handle} ({you.real_name}, {you.tz}); teammates "
           + " and ".join(f"@{p.handle} ({p.tz})" for p in mates) + "; the bot is in #sales.")
    c.note(f"Database {db}: " + (f"{mine} deal{'s' if mine != 1 else ''} of yours." if mine else "empty.")
           + f" The coach drafts with {coach}.")
    c.note(f"It is {now} for you.")
    c.note("Type /deal help, a chat line like “Globex said send me info”, or :help."
           + ("" if mine else " New here? :seed loads a demo pipeline."))
