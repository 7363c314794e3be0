"""Load the demo county (象山县): a thin door onto geodata.demo.load.geodata_demo_load."""

from django.core.management.base import BaseCommand, CommandError

from geodata.demo.load import geodata_demo_load


class Command(BaseCommand):
    help = (
        "Generate and load the deterministic demo county 象山县 (330225): 18 townships + a farm and an "
        "industrial park, real village names, N grid cells, teams, zones, matters, demo users. "
        "Does nothing when the same size is already loaded; --force wipes geodata (and any data "
        "that refers to it) and reloads."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cells", type=int, default=3000, help="number of grid cells (500–200,000)")
        parser.add_argument("--seed", type=int, default=330225, help="random seed (same seed, same county)")
        parser.add_argument("--force", action="store_true", help="reload even if already loaded")

    def handle(self, *args, cells: int, seed: int, force: bool, **options):
        try:
            summary = geodata_demo_load(cells=cells, seed=seed, force=force)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if summary.skipped:
            self.stdout.write(f"demo county already loaded with {cells} cells (use --force to reload)")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"demo county loaded in {summary.seconds:.1f} s: {summary.townships} township-level areas, "
                f"{summary.villages} villages, {summary.cells} cells, {summary.teams} teams, "
                f"{summary.zones} zones ({summary.zone_cells} zone cells), {summary.matters} matters, "
                f"{summary.officers} officers"
            )
        )
