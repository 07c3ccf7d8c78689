"""Paved cost service."""
