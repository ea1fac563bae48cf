"""The one command-line door: `helpdesk ...`."""

import click


@click.group()
def main() -> None:
    """Support tickets and mandatory mailings."""
