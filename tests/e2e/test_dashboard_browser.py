"""A quality lead logs in to the dashboard (the suite's own quality service) in Chromium: the incident just recorded is shown
first and the charts are drawn. The screenshot is kept in test-artifacts/."""
import asyncio
import os
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from shared.auth import create_key
from shared.db import make_engine
from shared.settings import Settings
from tests.support import fresh_uai

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("PARCOURS_CHROMIUM", "/usr/bin/chromium")


async def test_the_dashboard_shows_the_new_incident_first_and_draws_its_charts(served):
    cfa, base = fresh_uai(), served.urls["quality"]
    engine = make_engine(Settings(database_url=served.database_url), pool_size=1)
    try:
        async with engine.begin() as conn:
            key = (await create_key(conn, "cfa", cfa, label="browser test"))[1]
    finally:
        await engine.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        await api.post("/v1/quality/incidents", json={"occurred_on": "2025-01-06", "kind": "harassment",
                                                      "apprentice_id": "app-old", "description": "Older, signalled",
                                                      "reported_by": "Referent"})
        old = (await api.get("/v1/quality/incidents")).json()["items"][0]
        await api.post(f"/v1/quality/incidents/{old['id']}/report", json={"reported_on": "2025-01-06", "to": "Police"})
        new = await api.post("/v1/quality/incidents", json={"occurred_on": "2025-04-03", "kind": "violence",
                                                            "apprentice_id": "app-new",
                                                            "description": "Struck at the workplace, browser test",
                                                            "reported_by": "Referent"})
        assert new.status_code == 201, new.text
        await api.post("/v1/quality/complaints", json={"received_on": "2025-03-02", "from": "company",
                                                       "channel": "phone", "subject": "Tutor meeting",
                                                       "description": "No tutor meeting this term."})
        await api.post("/v1/quality/absences/bulk", json={"absences": [
            {"erp_record_id": f"e{i}", "apprentice_id": "app-new", "group": g, "day": f"2025-02-{10 + i}",
             "hours": "3", "justified": False} for i, g in enumerate(["G1", "G1", "G2"])]})

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/dashboard")
            assert page.url.endswith("/login")  # no session yet
            await page.fill("input[name=key]", key)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/dashboard")
            first = page.locator("#incidents tr").nth(1)
            assert "Struck at the workplace, browser test" in await first.inner_text()
            assert "NON SIGNALÉ" in await first.inner_text()
            assert await page.locator("#chart-complaints svg rect.bar").count() >= 1
            assert await page.locator("#chart-absences svg rect.bar").count() == 2
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
