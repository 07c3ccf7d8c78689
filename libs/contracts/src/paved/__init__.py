"""Paved gRPC contracts (generated code lives under paved.<area>.v1)."""
