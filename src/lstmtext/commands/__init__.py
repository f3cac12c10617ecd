"""CLI commands grouped by area; each module registers its commands on ``lstmtext.cli.app`` when imported."""
