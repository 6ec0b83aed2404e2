"""Persistence: the engine and unit of work, the models, the migrations."""
