"""Runs the outbox relay on its own: numbers committed events into their streams and notices them.

With GRIDOPS_OUTBOX_RELAY=process (make demo, the bench, docker-compose) this is the relay: web
processes only write, and PostgreSQL NOTIFY wakes this process when their transactions commit.
With the default "thread", web processes number events themselves and this command is optional
(for writers outside them). Several relays may run: an advisory
lock lets one number at a time, so sequence numbers stay gap-free.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from gridops.realtime.outbox import Relay


class Command(BaseCommand):
    help = "Number committed outbox events into their streams and send the notices (loops until stopped)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="Number what is pending, send the notices and exit."
        )

    def handle(self, *args, once: bool, **options):
        relay = Relay()
        if once:
            count = 0
            while True:
                count += relay.cycle()
                if not relay.wake.is_set():  # set when another relay held the lock: look again
                    break
                relay.wake.clear()
            self.stdout.write(f"numbered {count} stream messages")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: (stop.set(), relay.wake.set()))
        self.stdout.write("gridops relay running (Ctrl-C stops)")
        # Woken by the writers' NOTIFY; polls as well, so writers of either mode are served.
        relay.run_listening(stop=stop)
        self.stdout.write("gridops relay stopped")
