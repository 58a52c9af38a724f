"""Adapters for other frameworks. Each imports its framework; nothing in the core imports them."""
