"""Run the JT/T 808 gateway: vehicle terminals connect over TCP (docs/JT808.md)."""

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridops.jt808.server import Gateway


class Command(BaseCommand):
    help = "运行 JT/T 808 车载终端接入网关（TCP），定位与 HTTP 上传的定位走同一入库服务。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default=None, help=f"default GRIDOPS_JT808_HOST ({settings.JT808_HOST})"
        )
        parser.add_argument(
            "--port", type=int, default=None, help=f"default GRIDOPS_JT808_PORT ({settings.JT808_PORT})"
        )
        parser.add_argument("--db-threads", type=int, default=4, help="threads running database work")
        parser.add_argument(
            "--stats-every", type=float, default=60.0, help="seconds between totals; 0 = none"
        )

    def handle(self, *args, host, port, db_threads: int, stats_every: float, **options):
        if db_threads < 1:
            raise CommandError("--db-threads must be at least 1.")
        try:
            asyncio.run(self._run(host, port, db_threads, stats_every))
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from None

    async def _run(self, host, port, db_threads: int, stats_every: float) -> None:
        gateway = Gateway(host=host, port=port, db_threads=db_threads)
        bound = await gateway.start()
        self.stdout.write(f"jt808 gateway on {gateway.host}:{bound} (Ctrl-C stops)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        serving = asyncio.create_task(gateway.serve_forever())
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), stats_every or None)
            except TimeoutError:
                self.stdout.write(gateway.stats_line())
        serving.cancel()
        await gateway.stop()
        self.stdout.write(gateway.stats_line())
        self.stdout.write("jt808 gateway stopped")
