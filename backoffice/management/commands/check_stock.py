"""Verify that stock, the ledger, allocations, receipts, order statuses, daily demand and the
levels' stored counters agree (rules 1–2)."""

import time

from django.core.management.base import BaseCommand, CommandError

from backoffice.integrity import CHECKS
from inventory.models import StockLevel, StockMovement


class Command(BaseCommand):
    help = (
        "Check the live database against DESIGN.md rules 1–2: on hand equals the ledger, "
        "0 ≤ allocated ≤ on hand, allocations, receipts and order statuses add up. Prints a report "
        "and exits non-zero if anything is wrong. Reads only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit",
            type=int,
            default=50,
            help="Show at most this many problems per check (default 50); all are counted.",
        )

    def handle(self, *args, limit=50, **options):
        started = time.monotonic()
        problems = failed_checks = 0
        lines = []
        for check in CHECKS:
            found = check.run()
            if not found:
                continue
            problems += len(found)
            failed_checks += 1
            lines.append(
                self.style.ERROR(
                    f"✗ {check.name}: {check.description} — {len(found):,} "
                    f"{'problem' if len(found) == 1 else 'problems'}"
                )
            )
            lines.extend(f"    {discrepancy}" for discrepancy in found[: max(limit, 0)])
            if len(found) > limit:
                lines.append(f"    … and {len(found) - limit:,} more")
        elapsed = time.monotonic() - started

        if problems:
            for line in lines:
                self.stdout.write(line)
            raise CommandError(
                f"Stock check failed: {problems:,} "
                f"{'discrepancy' if problems == 1 else 'discrepancies'} "
                f"in {failed_checks} of {len(CHECKS)} checks."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Stock is clean: {len(CHECKS)} checks passed over "
                f"{StockLevel.objects.count():,} stock levels and "
                f"{StockMovement.objects.count():,} movements in {elapsed:.1f} s."
            )
        )
