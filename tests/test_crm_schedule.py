"""serve's CRM job: several instances firing at once sync once per interval."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from bot.config import load_settings
from bot.metrics import REGISTRY
from handlers.crm.schedule import sync_hubspot
from handlers.domain.model import Rep
from tests.fakehubspot import TOKEN, FakeHubSpot


def test_the_job_syncs_once_per_interval_whoever_fires(store, clock):
    with FakeHubSpot() as hs:
        hs.add_owner("101", "dana@example.com")
        hs.add_deal("Acme", "101")
        with store.tx() as tx:
            tx.save_rep(Rep("U1", "T1"))
            tx.set_rep_email("U1", "dana@example.com")
        settings = load_settings(hubspot_access_token=TOKEN, hubspot_api_url=hs.url, hardno_crm_sync_minutes=15)
        services = SimpleNamespace(settings=settings, store=store, clock=clock)
        synced_before = REGISTRY.get_sample_value("hardno_crm_sync_total", {"outcome": "ok"}) or 0.0
        first = sync_hubspot(services)
        assert first is not None and first.pulled == 1
        assert REGISTRY.get_sample_value("hardno_crm_sync_total", {"outcome": "ok"}) == synced_before + 1
        assert sync_hubspot(services) is None  # a second instance, same minute
        assert REGISTRY.get_sample_value("hardno_crm_sync_total", {"outcome": "ok"}) == synced_before + 1
        owner_calls = len(hs.calls("/owners"))
        clock.advance(timedelta(minutes=15))
        assert sync_hubspot(services) is not None and len(hs.calls("/owners")) == owner_calls + 1
        assert sync_hubspot(SimpleNamespace(settings=load_settings(), store=store, clock=clock)) is None
