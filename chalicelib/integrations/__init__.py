"""Outside parties, each behind a small interface: the event bus, and later payments, post, SMS, email."""
