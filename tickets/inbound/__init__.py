"""E-mail in: support mail becomes tickets and replies, bounces become delivery records."""
