"""The platform's settings with bench/obvious.py's URL added: for bench/intake.py's server only."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.obvious_urls"
