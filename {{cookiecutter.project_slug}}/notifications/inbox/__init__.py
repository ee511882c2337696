"""Inbox states: read, seen, archived, snoozed, deleted and expired, and notification actions."""
