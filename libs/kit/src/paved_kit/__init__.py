"""Shared plumbing for Paved services; knows no domain."""
