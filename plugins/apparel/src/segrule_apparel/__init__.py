"""segrule-apparel: customer classification for apparel retail.

Adds the ``apparel_items`` table (one row per order line), dimensions for category
affinity ("dress customers", 连衣裙客户), size profile, season preference, return rate
and new-arrival buying, a synthetic-data generator for the table, and the presets
``apparel:category-needs`` and ``apparel:size-season``. The hooks are in
:mod:`segrule_apparel.hooks`.
"""

__version__ = "0.1.0"
