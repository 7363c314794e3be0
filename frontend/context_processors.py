from django.conf import settings


def gridops(request):
    """Settings every page needs: the basemap (or none) and the map's starting view."""
    return {
        "TILE_URL": settings.TILE_URL,
        "TILE_ATTRIBUTION": settings.TILE_ATTRIBUTION,
    }
