"""The CLI's commands, one module each (see glassgrad/cli.py)."""
