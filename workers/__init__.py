"""RQ entry points: thin, importable job functions that call domain services."""
