"""segrule-groupbuy: segrule plugin for group-buying (团购) merchants.

Adds the group-buy tables (``groupbuy_groups``, ``groupbuy_touches``,
``groupbuy_referrals``), dimensions for price / quality / service sensitivity,
first-touch acquisition source, group initiators (团长) and joiners (参团者),
referrals and active vs browsing-only customers, the ``groupbuy_sensitivity``
strategy and the ``groupbuy:*`` presets. The hooks live in :mod:`segrule_groupbuy.hooks`.
"""

__version__ = "0.1.0"
