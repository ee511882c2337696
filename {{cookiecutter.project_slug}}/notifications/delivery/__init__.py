"""Delivery channels beside the socket: Server-Sent Events, email digests and unsubscribe pages."""
