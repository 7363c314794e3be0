"""Check the full-process record (执法全过程记录) of every case, or of the numbered ones.

    manage.py gridops_verify_record              every case with a record
    manage.py gridops_verify_record --report 12 --report 40

Exit status 0 when every chain holds; 1 with one line per broken case naming the first row at fault.
"""

from django.core.management.base import BaseCommand, CommandError

from gridops.models import Report
from gridops.record import record_verify


class Command(BaseCommand):
    help = "Verify the hash chains of the cases' full-process records (exit 1 if any is broken)."

    def add_arguments(self, parser):
        parser.add_argument("--report", type=int, action="append", help="report id (repeatable)")

    def handle(self, *args, **options):
        reports = None
        if options["report"]:
            reports = Report.objects.filter(pk__in=options["report"])
            missing = set(options["report"]) - set(reports.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"no report with id {', '.join(map(str, sorted(missing)))}")
        checked, problems = record_verify(reports=reports)
        for problem in problems:
            self.stderr.write(f"BROKEN {problem}")
        if problems:
            raise CommandError(f"{len(problems)} of {checked} case records are broken", returncode=1)
        self.stdout.write(f"{checked} case records checked, all intact")
