"""Open311 GeoReport v2 façade (JSON) over the matter catalogue and report intake; see docs/OPEN311.md."""
