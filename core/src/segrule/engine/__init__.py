"""The engine: loading tables, type checks, building the one lazy plan, data quality,
execution and phases. It never imports a feature or ``segrule.api``."""
