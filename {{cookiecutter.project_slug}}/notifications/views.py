"""Placeholder: replaced by the REST API."""
