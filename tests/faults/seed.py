"""Build a fault scenario's database: `python -m tests.faults.seed --cells N` with DATABASE_URL
pointing at it. Runs migrations, loads the demo county and demo devices/tokens (bench/intake.py's
`prepare`), and prints one JSON line: {"plan": ..., "tokens": ..., "devices": [...]}."""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=600)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.intake import prepare

    plan, tokens, devices = prepare(args.cells)
    print(json.dumps({"plan": plan, "tokens": tokens, "devices": devices}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
