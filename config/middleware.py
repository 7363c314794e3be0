"""Language: Simplified Chinese unless the user chose otherwise.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a command-centre PC with
an English Windows would start in English. Our users are Chinese: the page language comes from the
language cookie set by the language switch (/i18n/setlang/), else settings.LANGUAGE_CODE.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
