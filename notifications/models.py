"""Notifications: the outbox, channels, preferences and reminders (issue 5)."""
