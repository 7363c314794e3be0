def test_tiny_county_tiles_exactly(tiny_county):
    from shapely import coverage_is_valid, from_wkb

    cells = [from_wkb(bytes(c.geom.wkb)) for c in tiny_county.cells.values()]
    assert len(cells) == 16
    assert coverage_is_valid(cells)
    for cell in tiny_county.cells.values():
        assert cell.village.geom.covers(cell.geom)
