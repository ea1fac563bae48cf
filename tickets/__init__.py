"""Tickets: intake from every channel, routing, queues and the SLA clock."""
