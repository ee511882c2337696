"""Web Push, the third channel beside the inbox and email: keys, subscriptions, sending."""
