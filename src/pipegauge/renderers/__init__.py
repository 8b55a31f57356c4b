"""Terminal renderers: one per module (summary, header, table, tree, charts)."""
