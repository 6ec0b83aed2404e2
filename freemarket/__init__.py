"""FreeMarket: an open barter marketplace and the operator's toolkit that runs it."""

__version__ = "0.1.0"
