"""Outbound mail: rendering, DKIM signing, sending, mandatory mailings and delivery records."""
