"""Persistence: pynamodb models (the storage schema) and the repositories and unit of work over them."""
