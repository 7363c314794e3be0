"""OpenAPI extensions for our own authentication classes (registered on import by gridops.api.urls)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from gridops.auth import KEY_SCHEME


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    """Documents `Authorization: Device <key>` in the schema (silences drf-spectacular's
    "could not resolve authenticator" for every view, since the class is a default authenticator)."""

    target_class = "gridops.auth.DeviceKeyAuthentication"
    name = "deviceKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": f"{KEY_SCHEME} gdk_<prefix>_<secret>",
        }
