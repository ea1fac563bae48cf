"""The small core: configuration, database, Redis, the app factory and the CLI; no domain rules."""
