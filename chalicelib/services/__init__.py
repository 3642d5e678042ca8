"""Use cases: one function each, taking a command and the unit of work or adapters it needs."""
