"""Slack-free, database-free logic: plain functions over plain data.

Nothing in this package may import slack_sdk, slack_bolt or sqlalchemy
(tests/test_layering.py checks), so every rule here is testable on its own.
"""
