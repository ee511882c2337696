"""Delivery channels beside the socket: email digests, unsubscribe pages, preferences and SSE."""
