"""The customer portal: my tickets, filing a ticket, a ticket's thread, the e-mail history."""
