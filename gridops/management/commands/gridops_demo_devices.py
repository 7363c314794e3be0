"""Create the demo cameras, patrol units and API tokens, and write their credentials file."""

from pathlib import Path

from django.core.management.base import BaseCommand

from gridops.services.demo_devices import (
    CREDENTIALS_PATH,
    demo_credentials_read,
    demo_credentials_write,
    demo_devices_ensure,
    demo_known_keys,
)


class Command(BaseCommand):
    help = "创建演示摄像头、巡查单元及 API 令牌，并把密钥写入仅本人可读的凭据文件（可重复运行）。"

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(CREDENTIALS_PATH), help="credentials file (0600)")
        parser.add_argument("--cameras", type=int, default=40)
        parser.add_argument("--seed", type=int, default=330225)

    def handle(self, *args, out: str, cameras: int, seed: int, **options):
        path = Path(out)
        known = demo_known_keys(demo_credentials_read(path=path))
        credentials = demo_devices_ensure(known_keys=known, cameras=cameras, seed=seed)
        demo_credentials_write(credentials=credentials, path=path)
        self.stdout.write(
            f"demo devices: {len(credentials.cameras)} cameras, {len(credentials.units)} units, "
            f"{len(credentials.tokens)} API tokens; {credentials.issued} keys issued; credentials in {path}"
        )
        terminals = [u for u in credentials.units if u.get("jt808_terminal")]
        self.stdout.write(
            f"JT/T 808 terminals bound: {len(terminals)} vehicles "
            f"({', '.join(u['jt808_terminal'] for u in terminals[:3])}{', …' if len(terminals) > 3 else ''})"
        )
