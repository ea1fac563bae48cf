"""The agent console: queues, the due-first list, a ticket's actions, phone intake."""
