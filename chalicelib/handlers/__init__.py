"""Thin adapters: HTTP routes (blueprints) and event handlers that parse, call one use case, shape a reply."""
