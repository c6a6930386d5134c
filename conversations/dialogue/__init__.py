"""The conversation, sans-IO: plain data in (an answer, a command, a press), plain data out (the next
question, a re-prompt, an outcome) and the audit events of each step. No telegram, no SQLite, no files."""
