"""Data files for the tests: real mail from public collections, with their licences."""
