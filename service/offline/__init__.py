"""The built-in offline model: a litellm provider plug-in answering from rules and a trained check-worthiness scorer.

This package's own module stays light (no litellm), so that settings can name the offline model.
"""

OFFLINE_PROVIDER = "offline"
OFFLINE_MODEL = "offline/rules"
