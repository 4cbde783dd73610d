"""Everything that reacts to Slack, and the scheduled jobs.

One module per surface or feature, each with a `register(app)`; this package
only wires them.
"""

from importlib import import_module

# crm_files before events: Bolt runs only the first matching listener, and events takes every DM message.
SURFACES = ["commands", "actions", "views", "crm_files", "events", "shortcuts", "home", "export", "settings", "digest", "board", "coaching", "privacy"]


def register(app) -> None:
    for name in SURFACES:
        import_module(f"handlers.{name}").register(app)
