"""Chat-log analytics: the report over logged turns and its renderers (HTML page, terminal summary)."""
