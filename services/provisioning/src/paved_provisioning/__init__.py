"""Paved provisioning service."""
