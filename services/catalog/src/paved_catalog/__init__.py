"""Paved catalog service."""
