from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.pagination import GeoJsonPagination


class GeoAwarePagination(PageNumberPagination):
    """Plain page-number pagination with a client-chosen page size (capped)."""

    page_size_query_param = "page_size"
    max_page_size = 5000


class FeaturePagination(GeoJsonPagination):
    """Pages of a GeoJSON FeatureCollection, with count and next/previous links."""

    page_size_query_param = "page_size"
    max_page_size = 5000
