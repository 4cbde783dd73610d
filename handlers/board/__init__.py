"""Team leaderboards of closed-out deals in the channels the bot is in, and live kudos.

One module per job:
- `channel`   the channels (Slack reads), and the bot joining one: remember it, post a two-line intro
- `standings` a channel's reps and their scores
- `render`    the board and kudos as Block Kit / mrkdwn, and as plain text for a terminal
- `command`   `/deal board [week|month|quarter]`, the caller's private view
- `settings`  `/deal settings board ...`
- `post`      the weekly board (the sweep) and `hardno leaderboard [--post]`, through handlers/delivery.py
- `kudos`     live kudos, through handlers/delivery.py

Decisions:
- A channel's board lists the channel's members (conversations.members) who have logged at least one
  deal with hardno: those are its reps. Other members (and bots) are not listed.
- A channel's zone is pinned when the bot joins: the most common zone among its reps, else the
  inviter's, else UTC. `/deal settings board <day> <time> [zone]` sets it (the caller's zone by default).
  A channel found without a join event (the bot was already there) uses the most common zone among its
  reps at each sweep, else UTC. Slack's team.info has no time zone, so there is no "workspace zone".
"""

from slack_bolt import App

from handlers.board import channel
from handlers.board.command import board_command
from handlers.board.kudos import sweep_kudos
from handlers.board.post import BoardReport, run_boards, sweep_boards
from handlers.board.settings import AREA as SETTINGS
from handlers.commands import Verbs


def register(app: App, verbs: Verbs) -> None:
    channel.register(app)
    verbs["board"] = board_command


__all__ = ["SETTINGS", "BoardReport", "register", "run_boards", "sweep_boards", "sweep_kudos"]
