"""`manage.py plan_refresh`: rewrite the stored reorder plan of every level for today's window.

Run it nightly (cron or any scheduler), shortly after midnight in the project's time zone, so the
first manager to open the reorder dashboard each day does not wait for it. Changes during the
day (orders, cancellations, terms, deliveries, settings) keep the plan current without it.
"""

from django.core.management.base import BaseCommand

from planning.plan import plan_refresh_all


class Command(BaseCommand):
    help = "Refresh the stored reorder plan of every stock level for today's demand window."

    def handle(self, *args, **options):
        record = plan_refresh_all()
        self.stdout.write(
            f"Reorder plan refreshed for {record.day:%d %b %Y}: {record.levels:,} levels "
            f"in {record.seconds:.1f} s."
        )
