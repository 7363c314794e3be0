"""Prints where the platform is served and the demo logins (used by `make demo`)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from geodata.demo.load import DEMO_USERS


class Command(BaseCommand):
    help = "Print the platform's URLs and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options):
        base = f"http://{host}:{port}"
        lines = [
            "",
            "GridOps 网格化综合行政执法指挥调度平台",
            f"  首页 / home map ........ {base}/",
            f"  API 文档 / API docs .... {base}/api/docs/",
            f"  OpenAPI schema ......... {base}/api/schema/",
            f"  管理后台 / admin ........ {base}/admin/",
            "",
            f"  演示账号 / demo logins (password: {settings.DEMO_PASSWORD}):",
        ]
        lines += [f"    {username:<12} {role:<12} {display}" for username, role, display in DEMO_USERS]
        lines.append("")
        self.stdout.write("\n".join(lines))
