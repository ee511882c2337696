"""REST plumbing shared by every view: cursor pagination, rate limits and the error handler."""
