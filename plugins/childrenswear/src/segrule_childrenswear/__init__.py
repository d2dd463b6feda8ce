"""segrule-childrenswear: the childrenswear (童装) trade for segrule.

Adds the ``childrenswear_items`` table (one row per order line, with the height size
bought), dimensions that read a child's stage, gender, fabric preference and size
progression from it, households buying for several children, a synthetic-data
generator and the preset ``childrenswear:child-stage``. See docs/plugins/childrenswear.md.
"""

__version__ = "0.1.0"
