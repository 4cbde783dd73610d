"""hardno's wiring: configuration, the Bolt app, runners, scheduler and CLI."""
