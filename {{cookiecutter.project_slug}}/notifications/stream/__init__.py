"""The event stream: events stored with each write, their positions, counts and live order."""
