"""Paved gateway service."""
