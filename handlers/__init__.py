"""Everything that reacts to Slack, and the scheduled jobs.

One module per surface or feature, each with a `register(app, ...)` called from `register` below, in
this order; nothing registers itself on import. A feature's `/deal` verbs go into `verbs`, which the
/deal router reads from the Bolt context.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    """Every listener on `app` (a Bolt App, or bot.failures' guard around one, which has its methods)."""
    # Imported here, not at the top: storage imports handlers.domain, and that must not pull in Slack.
    from handlers import (
        actions,
        board,
        coach_dm,
        coaching,
        commands,
        crm_files,
        digest,
        events,
        export,
        home,
        installs,
        practice,
        privacy,
        settings,
        shortcuts,
        views,
    )
    from handlers.commands import Verbs

    verbs: Verbs = {}
    commands.register(app, verbs)
    actions.register(app)
    views.register(app)
    crm_files.register(app)  # before events: Bolt runs only the first matching listener; events takes every DM
    events.register(app)
    coach_dm.register(app)  # the assistant view's thread events; its DMs come through events
    shortcuts.register(app)
    home.register(app)
    export.register(app, verbs)
    settings.register(app, verbs, [digest.SETTINGS, board.SETTINGS])
    digest.register(app)
    board.register(app, verbs)
    coaching.register(app, verbs)
    privacy.register(app, verbs)
    installs.register(app)
    practice.register(app, verbs)

    @app.middleware
    def inject_verbs(context, next):  # noqa: ANN001 - Bolt's middleware signature
        context["verbs"] = verbs
        next()
