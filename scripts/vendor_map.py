"""Decode the Shanghai district outlines shipped in the npm package echarts 4.9.0
(``map/json/province/shanghai.json``, ECharts' compressed "UTF8Encoding" GeoJSON) into plain
GeoJSON for the commander's map: ``cityline/web/static/vendor/shanghai-districts.json``.

    npm pack echarts@4.9.0 && tar xzf echarts-4.9.0.tgz package/map/json/province/shanghai.json
    python scripts/vendor_map.py package/map/json/province/shanghai.json

then record the output's sha256 in ``static/vendor/VERSIONS.txt``. The decoding is ECharts'
own (``parseGeoJson.ts``: each coordinate pair is two characters, zig-zag deltas from the
ring's offset, divided by the scale); decoding once here keeps the console's map a plain file
that any GeoJSON reader (and the test) can read.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "cityline/web/static/vendor/shanghai-districts.json"
SOURCE_SHA256 = "e35ba305796125cea14255c2a0e36b3b1c1913e38a31e472aa19c7e2e265da7b"


def ring(text: str, offset: list[int], scale: float) -> list[list[float]]:
    x, y, points = offset[0], offset[1], []
    for i in range(0, len(text), 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        points.append([round(x / scale, 5), round(y / scale, 5)])
    return points


def decode(data: dict) -> dict:
    scale = data.pop("UTF8Scale", 1024)
    data.pop("UTF8Encoding", None)
    for feature in data["features"]:
        geometry = feature["geometry"]
        offsets = geometry.pop("encodeOffsets")
        if geometry["type"] == "Polygon":
            geometry["coordinates"] = [ring(r, o, scale) for r, o in zip(geometry["coordinates"], offsets, strict=True)]
        else:  # MultiPolygon
            geometry["coordinates"] = [[ring(r, o, scale) for r, o in zip(polygon, offset, strict=True)]
                                       for polygon, offset in zip(geometry["coordinates"], offsets, strict=True)]
    return data


def main(source: str) -> None:
    raw = Path(source).read_bytes()
    if hashlib.sha256(raw).hexdigest() != SOURCE_SHA256:
        sys.exit(f"{source} is not the file of echarts 4.9.0 this map was made from")
    OUT.write_text(json.dumps(decode(json.loads(raw)), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(OUT.name, hashlib.sha256(OUT.read_bytes()).hexdigest())


if __name__ == "__main__":
    main(sys.argv[1])
