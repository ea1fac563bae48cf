"""Account pages: sign-in, Mein Konto (company, contact persons, lists, users), security, staff."""
