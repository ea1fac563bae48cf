"""The JSON API for tickets (bearer tokens only) and its OpenAPI document."""
