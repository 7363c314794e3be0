"""Drive live traffic (reports, camera alerts, GPS pings) through the public HTTP API."""

import logging
import signal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gridops.services.demo_devices import CREDENTIALS_PATH
from gridops.simulate import DESK_RATE, SimConfig, Simulator


def _alert_types() -> tuple[str, ...]:
    # The camera door's own mapping, so the simulator only sends alert types the server knows.
    from gridops.services.cameras import CAMERA_ALERT_MATTERS

    return tuple(sorted(CAMERA_ALERT_MATTERS))


class Command(BaseCommand):
    help = (
        "模拟网格员上报、摄像头告警、巡查车辆定位和案件办理流转，"
        "只通过公开的 HTTP API（先运行 gridops_demo_devices）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--credentials", default=str(CREDENTIALS_PATH))
        parser.add_argument("--rate", type=float, default=0.33, help="grid-worker reports per second")
        parser.add_argument(
            "--desk-rate",
            type=float,
            default=DESK_RATE,
            help="case steps per second by the demo dispatcher, officer and supervisor; 0 = none",
        )
        parser.add_argument("--duration", type=float, default=0, help="seconds; 0 = until stopped")
        parser.add_argument("--speedup", type=float, default=1.0, help="compress traffic and movement")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--start-timeout", type=float, default=0, help="give up if the server is not up")
        parser.add_argument(
            "--jt808-vehicles",
            type=int,
            default=0,
            help="drive this many demo vehicles (those with a terminal number) as JT/T 808 terminals",
        )
        parser.add_argument(
            "--jt808-address", default="127.0.0.1:6808", help="the JT/T 808 gateway host:port"
        )

    def handle(self, *args, **o):
        if o["rate"] < 0 or o["desk_rate"] < 0 or o["speedup"] <= 0 or o["duration"] < 0:
            raise CommandError("--rate ≥ 0, --desk-rate ≥ 0, --speedup > 0 and --duration ≥ 0.")
        logging.getLogger("gridops.simulate").setLevel(
            logging.WARNING if o["verbosity"] < 2 else logging.INFO
        )
        config = SimConfig(
            base_url=o["base_url"],
            credentials=Path(o["credentials"]),
            rate=o["rate"],
            desk_rate=o["desk_rate"],
            duration=o["duration"],
            speedup=o["speedup"],
            seed=o["seed"],
            start_timeout=o["start_timeout"],
            alert_types=_alert_types(),
            jt808_vehicles=max(0, o["jt808_vehicles"]),
            jt808_address=o["jt808_address"],
        )
        sim = Simulator(config, out=lambda line: self.stdout.write(line))
        signal.signal(signal.SIGTERM, lambda *_: sim.stop.set())
        try:
            sim.run()
        except KeyboardInterrupt:
            sim.stop.set()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
