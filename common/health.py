"""`/healthz` for load balancers and process supervisors: is the database answering?"""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from common.database_errors import RETRY_AFTER_SECONDS

logger = logging.getLogger("backstock.health")


@never_cache
@require_safe
def healthz(request):
    """200 with {"status": "ok"} when a trivial query succeeds, 503 otherwise. No sign-in: it
    reveals nothing but whether the database is reachable."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check failed: the database did not answer")
        response = JsonResponse({"status": "error", "database": "unavailable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": "ok"})
