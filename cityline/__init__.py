"""cityline: a city service hotline as the nerve centre of an emergency response."""

__version__ = "0.1.0"
