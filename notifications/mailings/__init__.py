"""Mandatory mailings ("Pflichtmailings"): compose, approve, resolve the audience, send."""
