"""Typed HTTP client of the Paved gateway, the paved CLI and paved up."""
