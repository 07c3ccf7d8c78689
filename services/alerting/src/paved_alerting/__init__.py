"""Paved alerting service."""
