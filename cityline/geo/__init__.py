"""Place: administrative divisions, address parsing, grids and zones."""
