"""Load demo inspection data (targets, qualified inspectors, overlapping plans): a thin door onto
inspections.demo.inspections_demo_load. Run after `geodata_demo`."""

from django.core.management.base import BaseCommand, CommandError

from inspections.demo import inspections_demo_load


class Command(BaseCommand):
    help = (
        "Load ~200 inspection targets over the demo county's townships with credit colours, ~30 "
        "qualified inspectors from the roster and this month's plans of several departments with "
        "overlapping checks. Does nothing when targets exist; --force wipes inspection data first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--targets", type=int, default=200)
        parser.add_argument("--inspectors", type=int, default=30)
        parser.add_argument("--seed", type=int, default=330225)
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, targets: int, inspectors: int, seed: int, force: bool, **options):
        try:
            summary = inspections_demo_load(targets=targets, inspectors=inspectors, seed=seed, force=force)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if summary.skipped:
            self.stdout.write(f"inspection demo already loaded ({summary.targets} targets); --force reloads")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"inspection demo loaded: {summary.targets} targets, {summary.inspectors} inspectors, "
                f"{summary.plans} plans with {summary.checks} checks"
            )
        )
