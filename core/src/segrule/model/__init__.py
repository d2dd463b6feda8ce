"""The rule model: rule sets and their loading (``extends``), SQL text, plan nodes,
threshold ladders, table contracts, strategies and presets. Imports nothing above it."""
