"""Persistence: schema, engines, migrations and the data-access functions in `repo`."""
