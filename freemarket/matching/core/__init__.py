"""The pure matching core: text, vectors, engine, index, trades; imports nothing of the app."""
