"""A tiny service built on paved_kit, run as ``python -m paved_demo`` by the start/stop tests."""
