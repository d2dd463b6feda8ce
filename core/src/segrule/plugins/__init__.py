"""Plugins: the hook specifications, the registry that loads plugins and stamps what
each registers, and core's own builtin plugins."""
