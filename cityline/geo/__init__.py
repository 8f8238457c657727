"""Place: administrative divisions, address parsing, grids and zones.

``parse_address(text)`` turns an address or a whole order text into a :class:`Place`
(province / city / district / street, official names, None where the text does not
decide). Division data comes from jionlp's township list (see ``divisions.py``).
"""

from cityline.geo.address import Place, parse_address

__all__ = ["Place", "parse_address"]
