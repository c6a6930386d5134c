"""Everything the conversations keep in SQLite: pre-screens, the audit trail, the physician registry,
exports, the screening log and backups. Every write runs in a transaction the caller opened."""
