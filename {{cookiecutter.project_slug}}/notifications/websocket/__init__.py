"""The WebSocket: authentication, tickets, the Origin check and the consumer's parts."""
