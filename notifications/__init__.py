"""Outbound mail: the outbox for single messages, mandatory mailings, and what both share:
templates (rendering), MIME building (messages), DKIM signing (dkim_fast), SMTP (smtp).
"""
