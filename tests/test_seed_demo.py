"""The demo seed (used by the dashboard benchmark) writes consistent rows and rollups."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Sum

from bench.seed_demo import Command as SeedDemo
from connections.models import CallRecord, CallRollup
from webhooks.models import Delivery, DeliveryRollup, Source

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


def test_seed_small_and_the_rollups_add_up():
    call_command(
        SeedDemo(), "--deliveries", "3000", "--calls", "2000", "--sources", "3",
        "--connections", "2", "--days", "1", "--no-vacuum", stdout=io.StringIO(),
    )  # fmt: skip
    assert Source.objects.filter(name__startswith="demo ").count() == 3
    assert Delivery.objects.count() == 3000 and CallRecord.objects.count() == 2000
    received = DeliveryRollup.objects.aggregate(n=Sum("received"), r=Sum("refused"))
    assert received["n"] + received["r"] == 3000
    finished = DeliveryRollup.objects.aggregate(n=Sum("processed") + Sum("ignored") + Sum("dead"))
    assert (
        finished["n"]
        == Delivery.objects.filter(status__in=["processed", "ignored", "dead"]).count()
    )
    assert CallRollup.objects.aggregate(n=Sum("calls"))["n"] == 2000
    with pytest.raises(Exception, match="--reset"):
        call_command(SeedDemo(), "--deliveries", "10", "--calls", "10",
                     stdout=io.StringIO())  # fmt: skip
