"""Everything that reacts to Slack, and the scheduled jobs."""
