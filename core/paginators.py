"""A paginator for admin changelists over tables of millions of rows.

Django's admin counts the changelist's rows exactly (a full ``COUNT(*)`` over the delivery log
or the call records). ``BoundedCountPaginator`` counts at most HUB_ADMIN_COUNT_CAP rows
(``COUNT(*)`` over a ``LIMIT`` subquery); beyond that it reports PostgreSQL's own estimate for
an unfiltered table (``pg_class.reltuples``) or the cap, so a page costs the same with 10 rows
or 10 million.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class BoundedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        cap = settings.HUB_ADMIN_COUNT_CAP
        queryset = self.object_list
        bounded = queryset.order_by().values("pk")[: cap + 1].count()
        if bounded <= cap:
            return bounded
        if not queryset.query.where and connections[queryset.db].vendor == "postgresql":
            with connections[queryset.db].cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > cap:
                return int(row[0])
        return cap
