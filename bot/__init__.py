"""The edges: command line, terminal chat and the Telegram adapter."""
