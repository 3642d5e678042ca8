"""Cloud resources outside Chalice, built from `chalicelib.topology`: provisioning, templates, the local stack."""
