"""Facts of the US equity market the package models, each defined once (numbers, no code).

The core's defaults read them (:class:`~almm_rllib.core.impact.ImpactConfig`'s trading day,
:class:`~almm_rllib.core.market_config.MarketConfig`'s lot), and so do the LOBSTER reader and the market report.
"""

#: Seconds in one regular trading session (NASDAQ, 9:30 to 16:00: 6.5 hours).
SESSION_SECONDS = 23_400.0
#: Shares per round lot: the simulated market's default lot, and the unit in which LOBSTER sizes are read as lots.
ROUND_LOT_SHARES = 100
