"""Paved policy service."""
