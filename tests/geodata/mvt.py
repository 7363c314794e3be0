"""Just enough of a Mapbox vector tile decoder to check what geodata/tiles.py writes.

Mapbox Vector Tile spec 2.1 (protobuf): Tile.layers = 3; Layer: name 1, features 2, keys 3,
values 4, extent 5, version 15; Feature: id 1, tags 2 (packed), type 3, geometry 4 (packed
commands: MoveTo 1, LineTo 2, ClosePath 7, zig-zag encoded deltas); Value: string 1, float 2,
double 3, int64 4, uint64 5, sint64 6, bool 7.
"""

import struct
from dataclasses import dataclass, field


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of a protobuf message; length-delimited values as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def _packed(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        out.append(value)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(data: bytes):
    for number, _, raw in _fields(data):
        if number == 1:
            return raw.decode()
        if number == 2:
            return struct.unpack("<f", raw)[0]
        if number == 3:
            return struct.unpack("<d", raw)[0]
        if number in (4, 5):
            return raw
        if number == 6:
            return _zigzag(raw)
        if number == 7:
            return bool(raw)
    return None


def _rings(commands: list[int]) -> list[list[tuple[int, int]]]:
    rings, ring, x, y, i = [], [], 0, 0, 0
    while i < len(commands):
        command, count = commands[i] & 7, commands[i] >> 3
        i += 1
        if command == 7:
            rings.append(ring)
            ring = []
            continue
        for _ in range(count):
            x += _zigzag(commands[i])
            y += _zigzag(commands[i + 1])
            i += 2
            if command == 1 and ring:
                rings.append(ring)
                ring = []
            ring.append((x, y))
    if ring:
        rings.append(ring)
    return rings


@dataclass
class Feature:
    type: int  # 1 point, 2 line, 3 polygon
    properties: dict
    rings: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass
class Layer:
    name: str
    extent: int
    version: int
    features: list[Feature]


def decode(tile: bytes) -> dict[str, Layer]:
    layers = {}
    for number, _, raw in _fields(tile):
        if number != 3:
            continue
        name, extent, version, keys, values, raw_features = "", 4096, 1, [], [], []
        for n, _, v in _fields(raw):
            if n == 1:
                name = v.decode()
            elif n == 2:
                raw_features.append(v)
            elif n == 3:
                keys.append(v.decode())
            elif n == 4:
                values.append(_value(v))
            elif n == 5:
                extent = v
            elif n == 15:
                version = v
        features = []
        for raw_feature in raw_features:
            kind, tags, geometry = 0, [], []
            for n, _, v in _fields(raw_feature):
                if n == 2:
                    tags = _packed(v)
                elif n == 3:
                    kind = v
                elif n == 4:
                    geometry = _packed(v)
            properties = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            features.append(Feature(type=kind, properties=properties, rings=_rings(geometry)))
        layers[name] = Layer(name=name, extent=extent, version=version, features=features)
    return layers
