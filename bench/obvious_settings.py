"""The platform's settings for bench/intake.py's server only: two more ways to take a report.

- bench/obvious.py's URL (the obvious way: DRF ModelSerializer, routing by PostGIS queries);
- bench/lean.py's application in front of the platform's (a path outside Django's handler and DRF).
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.obvious_urls"
ASGI_APPLICATION = "bench.lean.application"
