"""The transactional outbox: every single e-mail of the service, queued, signed and sent once."""
