"""Slack-free, database-free logic: plain functions over plain data.

The core every layer uses, and the one direction between layers: `storage/` maps its rows onto these types
(`Deal`, `Activity`, `Rep`, `ChannelSettings`, `DealRow`), listeners and jobs in `handlers/` and `bot/` call
these functions; this package imports nothing of theirs, nor slack_sdk, slack_bolt, sqlalchemy or an LLM
client (tests/test_layering.py checks all of it), so every rule here is testable on its own.
"""
