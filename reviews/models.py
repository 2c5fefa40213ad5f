"""The back office: assignment rules, work queues and staff actions (issue 4)."""
