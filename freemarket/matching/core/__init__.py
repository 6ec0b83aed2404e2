"""The pure matching core: text, vectors, engine, index, trades; imports nothing of the app.

The few names the application shares with the core live here, free of numpy, so that the
domain can use them without loading the numeric stack.
"""

# The kinds of item, defined here once: the core is the one package every layer may import.
OFFER, WANT = "offer", "want"
ITEM_KINDS = (OFFER, WANT)
# Wants filed under this category may be matched with offers of every category.
OTHER_CATEGORY = "other"
