"""Writing new notifications: checked limits, bulk inserts, grouping and broadcasts."""
