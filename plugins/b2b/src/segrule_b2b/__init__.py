"""segrule-b2b: B2B and foreign-trade (外贸) customer classification for segrule.

Adds the tables ``b2b_inquiries`` (询盘) and ``b2b_accounts``, dimensions for inquiry
validity, quotes per order, revenue trend, gross profit and order regularity, the
strategies ``b2b_inquiry_validity`` and ``b2b_value_matrix``, and the presets
``b2b:inquiry-quality`` and ``b2b:value-matrix``. See docs/plugins/b2b.md.
"""

__version__ = "0.1.0"
