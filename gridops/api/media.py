"""Report photos under MEDIA_URL, served only to those who may see their report.

A photo shows a place, often people and vehicles, sometimes a citizen's house: it is as private
as the report it belongs to. Every request names a stored photo file (`reports/YYYY/MM/<report>-…`
or its thumbnail under `thumbs/`); the file is served when the caller, signed in by session or
token, may see that report (gridops.scopes.report_queryset_for: their township, team, cells, or their
own report). Anyone else gets the same 404 as for a file that does not exist, so a URL tells a
stranger nothing; a caller who is not signed in gets 401/403. A device key reads no photos.

The names carry the report's id, so the lookup uses the report's index rather than a scan of
every photo. The answer may be cached by the browser only (`private`): a name's content never
changes (it carries the content's hash), but access can.
"""

import logging
import re

from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from gridops.models import Report, ReportPhoto
from gridops.scopes import report_queryset_for

logger = logging.getLogger("gridops.media")

# What gridops.services.photos.photos_store writes (the storage may add a suffix on a clash).
_PHOTO_NAME = re.compile(r"^reports/\d{4}/\d{2}/(?:thumbs/)?(?P<report>\d{1,18})-[\w.-]+$")
CACHE_SECONDS = 3600


class ReportPhotoFileView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []
    schema = None  # a file, not an API resource: the report's `photos` give its URLs

    def get(self, request, path: str):
        match = _PHOTO_NAME.match(path)
        photo = None
        if match is not None:
            # One query: the photo, among the reports this caller may see.
            reports = report_queryset_for(request.user, Report.objects.filter(pk=int(match["report"])))
            photo = (
                ReportPhoto.objects.filter(report__in=reports)
                .filter(Q(image=path) | Q(thumbnail=path))
                .only("id")
                .first()
            )
        if photo is None:
            raise NotFound(_("照片不存在。"))
        try:
            handle = default_storage.open(path, "rb")
        except FileNotFoundError:
            logger.error("photo %s: file %s is missing from the storage", photo.pk, path)
            raise NotFound(_("照片不存在。")) from None
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
        response["X-Content-Type-Options"] = "nosniff"
        return response
