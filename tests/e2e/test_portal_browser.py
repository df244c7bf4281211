"""The reference portal in a real headless browser (Debian's chromium driven by Selenium),
served by the edge (a real Envoy) in front of the whole platform (honcho, real Kafka and
PostgreSQL), as issue 12 asks:

- the public search finds a control-list entry by its Chinese name, without signing in;
- a submission with a malformed USCC shows the service's field error next to the field;
- an exporter submits an application and watches it reach "assessed" live, without reloading;
  an officer approves it from the review queue and the exporter's page shows the licence.

Screenshots go to $STC_PORTAL_SCREENSHOTS (docs/screenshots for the README) when it is set.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from stc_common.auth.jwt import mint_token
from stc_common.testing.service import free_port
from stc_common.uscc import make_uscc
from stc_edge.config import EdgeSettings
from stc_edge.testing import running_edge

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal" / "dist"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WAIT = 120  # seconds: the whole platform shares two cores with the browser


def _need_browser() -> None:
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                              ("portal/dist (make portal)", (PORTAL / "app.js").exists() or None))
               if not p]
    if missing:
        msg = f"browser tests need {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
async def portal_url(platform, tmp_path_factory):
    """The edge in front of the platform, serving the built portal; yields its address."""
    _need_browser()
    a = platform["addresses"]
    settings = EdgeSettings(port=free_port(), admin_port=free_port(),
                            licensing_addr=a["licensing"], screening_addr=a["screening"],
                            enduser_addr=a["enduser"], credit_addr=a["credit"],
                            portal_dir=PORTAL)
    async with running_edge(settings, tmp_path_factory.mktemp("edge")) as s:
        yield f"http://127.0.0.1:{s.port}"


def browser(lang: str = "en"):
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", f"--lang={lang}"):
        opts.add_argument(arg)
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(CHROMEDRIVER))


@pytest.fixture
def driver():
    d = browser()
    try:
        yield d
    finally:
        d.quit()


def shot(d, name: str) -> None:
    out = os.environ.get("STC_PORTAL_SCREENSHOTS")
    if out:
        path = ROOT / out
        path.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(path / f"{name}.png"))


def wait_for(d, css: str, timeout: float = WAIT):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR,
                                                                            css)))


def fill(d, css: str, text: str) -> None:
    """Type into a field; a page that re-renders (a live update arriving) replaces the element
    under the driver, so a stale element is looked up again until the text is in the field."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + WAIT
    while True:
        try:
            el = wait_for(d, css)
            el.clear()
            el.send_keys(text)
            if el.get_attribute("value") == text:
                return
        except StaleElementReferenceException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"could not fill {css!r}: the page kept replacing it")
        time.sleep(0.2)


def _read(d, css: str, how):
    """`how(element)` of the element at `css`, looking it up again while a re-render (a live
    update arriving between the lookup and the read) leaves the driver a stale element."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + WAIT
    while True:
        try:
            return how(wait_for(d, css))
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def attr(d, css: str, name: str) -> str | None:
    """An attribute of the element at `css` (stale-safe, see `_read`)."""
    return _read(d, css, lambda el: el.get_attribute(name))


def text_of(d, css: str) -> str:
    """The text of the element at `css` (stale-safe, see `_read`)."""
    return _read(d, css, lambda el: el.text)


def click(d, css: str) -> None:
    """Click a button, looking it up again if a re-render replaced it."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + WAIT
    while True:
        try:
            wait_for(d, css).click()
            return
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def english(d, url: str) -> None:
    d.get(url + "/#/search")
    d.execute_script("localStorage.setItem('stc.lang', 'en')")
    d.refresh()


def sign_in(d, url: str, token: str) -> None:
    d.get(url + "/#/signin")
    fill(d, "#token", token)
    click(d, "#signin-button")


def new_uscc() -> str:
    return make_uscc("91110000" + "".join(CHARSET[b % 31] for b in uuid.uuid4().bytes[:9]))


def test_the_edge_reports_serving_once_every_service_answers(portal_url):
    from stc_cli.main import edge_health

    addr = portal_url.removeprefix("http://")
    deadline = time.monotonic() + WAIT
    while (state := edge_health(addr)) != "SERVING" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state == "SERVING"


def test_public_search_finds_a_control_list_entry_by_its_chinese_name(portal_url, driver):
    driver.get(portal_url + "/#/search")
    driver.execute_script("localStorage.clear()")  # public: no token
    driver.get(portal_url + "/#/search")
    fill(driver, "#query", "洛克希德·马丁公司")
    click(driver, "#search-button")
    first = wait_for(driver, "tr[data-testid=result]")
    assert "Lockheed Martin" in first.text and "CONTROL_LIST" in first.text
    assert first.get_attribute("data-weak") == "false"
    assert "管控名单" in driver.find_element("css selector", "nav").text  # Chinese by default
    shot(driver, "portal-search")


def test_a_bad_uscc_shows_the_field_error_next_to_the_field(portal_url, driver):
    english(driver, portal_url)
    sign_in(driver, portal_url, mint_token(role="exporter", uscc=new_uscc()))
    driver.get(portal_url + "/#/apply")
    fill(driver, "#f-exporter_uscc", "91110000MA01ABCDE1")  # wrong check character
    click(driver, "#submit-application")
    err = wait_for(driver, '[data-error-for="exporter_uscc"]')
    assert "USCC" in err.text
    # next to the field: the element right before the error is the USCC input, marked invalid
    prev = driver.execute_script("return arguments[0].previousElementSibling", err)
    assert prev.get_attribute("id") == "f-exporter_uscc"
    assert "invalid" in prev.get_attribute("class")
    assert driver.current_url.endswith("#/apply")  # nothing was submitted
    shot(driver, "portal-field-error")


def test_exporter_watches_it_assessed_live_and_sees_the_licence_an_officer_grants(
        portal_url, driver):
    uscc = new_uscc()
    english(driver, portal_url)
    sign_in(driver, portal_url, mint_token(role="exporter", uscc=uscc))
    driver.get(portal_url + "/#/register")
    fill(driver, "#f-name_zh", "浏览器测试精密机械有限公司")
    fill(driver, "#f-name_en", "Browser Test Precision Machinery Co., Ltd.")
    fill(driver, "#f-address", "北京市海淀区")
    click(driver, "#register-button")
    assert uscc in text_of(driver, "[data-testid=registered]")

    driver.get(portal_url + "/#/apply")
    click(driver, "#submit-application")
    wait_for(driver, "#live")
    assert "#/applications/" in driver.current_url
    app_id = driver.current_url.rsplit("/", 1)[1]
    driver.execute_script("window.__sameDocument = 42")  # gone if the page reloads
    assert "GRANT" in text_of(driver, "[data-testid=recommendation]")
    factors = driver.find_elements("css selector", "tr[data-testid=factor]")
    assert len(factors) == 8  # Art. 13's eight factors
    assert driver.find_elements("css selector", "#timeline li[data-kind=ASSESSED]")
    shot(driver, "portal-application-assessed")

    officer = browser()
    try:
        english(officer, portal_url)
        sign_in(officer, portal_url, mint_token(role="officer", authority="MOFCOM"))
        row = wait_for(officer, f'tr[data-id="{app_id}"]')
        shot(officer, "portal-review-queue")
        row.find_element("css selector", "input[name=reasons]").send_keys(
            "Civil end use, clean screening, all eight factors clear")
        click(row, "button[data-action=approve]")
        wait_for(officer, f'tr[data-id="{app_id}"] [data-testid=decided]')
    finally:
        officer.quit()

    assert "ACTIVE" in text_of(driver, "[data-testid=licence]")
    assert driver.execute_script("return window.__sameDocument") == 42  # live, no reload
    assert attr(driver, "#state", "data-state").startswith("APPROVED")
    shot(driver, "portal-licence")


async def test_public_credit_publications_verify_in_the_browser(portal_url, platform, driver):
    """Three penalties recorded (Art. 34) are published; the public page proves each one's
    inclusion in the Merkle log against the signed checkpoint's root, in the browser."""
    import asyncio
    import datetime as dt
    import hashlib

    import grpc
    from google.type import date_pb2
    from stc.credit.v1 import credit_pb2
    from stc.credit.v1 import credit_service_pb2 as cpb
    from stc.credit.v1 import credit_service_pb2_grpc as cgrpc

    today = dt.date.today()
    d = date_pb2.Date(year=today.year, month=today.month, day=today.day)
    md = (("authorization", f"Bearer {mint_token(role='officer', authority='MOFCOM')}"),)
    usccs = [new_uscc() for _ in range(3)]
    async with grpc.aio.insecure_channel(platform["addresses"]["credit"]) as ch:
        credit = cgrpc.CreditServiceStub(ch)
        for n, uscc in enumerate(usccs):
            no = f"商务部行罚〔2026〕portal-{uuid.uuid4().hex[:6]}号"
            await credit.RecordViolation(cpb.RecordViolationRequest(
                request_id=str(uuid.uuid4()), uscc=uscc, enterprise_name=f"门户测试公司{n}",
                article="34", decision_no=no,
                decision_sha256=hashlib.sha256(no.encode()).hexdigest(),
                penalty=credit_pb2.Penalty(sanctions=["order_to_stop", "fine"], fine_fen=500_000_00),
                turnover_fen=100_000_00, decision_date=d, effective_date=d), metadata=md)
        for _ in range(WAIT * 2):
            pubs = await credit.ListPublications(cpb.ListPublicationsRequest(page_size=500))
            if {p.uscc for p in pubs.publications} >= set(usccs):
                break
            await asyncio.sleep(0.5)
        assert {p.uscc for p in pubs.publications} >= set(usccs), "not published"

    english(driver, portal_url)
    driver.get(portal_url + "/#/publications")
    wait_for(driver, "tr[data-testid=publication]")
    rows = [r for r in driver.find_elements("css selector", "tr[data-testid=publication]")
            if any(u in r.text for u in usccs)]
    assert len(rows) == 3
    for row in rows:
        click(row, "button")
    for row in rows:
        for _ in range(WAIT * 10):
            found = row.find_elements("css selector", "[data-testid=verification]")
            if found:
                break
            await asyncio.sleep(0.1)
        assert found and found[0].get_attribute("data-ok") == "true", row.text
        assert "Verified" in found[0].text
    shot(driver, "portal-credit-publications")


def test_information_request_answered_live_then_a_change_report_and_a_screening(
        portal_url, driver):
    """An officer asks for information (Reg. 17: the clock pauses); the exporter's open page
    shows the request live and the answer form; answered, the application is back under
    review; once licensed, the exporter reports an end-use change (Art. 16) on the licence and
    screens a party against every list."""
    uscc = new_uscc()
    english(driver, portal_url)
    sign_in(driver, portal_url, mint_token(role="exporter", uscc=uscc))
    driver.get(portal_url + "/#/register")
    fill(driver, "#f-name_zh", "补充材料测试有限公司")
    fill(driver, "#f-name_en", "Information Request Test Co., Ltd.")
    fill(driver, "#f-address", "上海市")
    click(driver, "#register-button")
    wait_for(driver, "[data-testid=registered]")
    driver.get(portal_url + "/#/apply")
    click(driver, "#submit-application")
    wait_for(driver, "[data-testid=recommendation]")
    app_id = driver.current_url.rsplit("/", 1)[1]

    officer = browser()
    try:
        english(officer, portal_url)
        sign_in(officer, portal_url, mint_token(role="officer", authority="MOFCOM"))
        wait_for(officer, f'tr[data-id="{app_id}"]')
        officer.get(f"{portal_url}/#/applications/{app_id}")
        fill(officer, "#f-questions", "Please provide the signed contract with the end user")
        click(officer, "#request-info-button")

        fill(driver, "#f-answer", "The signed contract CT-2026-0417 is attached.")  # live
        assert attr(driver, "#state", "data-state") == "INFORMATION_REQUESTED"
        shot(driver, "portal-information-requested")
        click(driver, "#answer-button")
        for _ in range(WAIT * 2):
            if attr(driver, "#state", "data-state") == "UNDER_REVIEW":
                break
            time.sleep(0.5)
        assert attr(driver, "#state", "data-state") == "UNDER_REVIEW"
        assert driver.find_elements("css selector", "#timeline li[data-kind=INFORMATION_PROVIDED]")

        officer.get(portal_url + "/#/queue")
        row = wait_for(officer, f'tr[data-id="{app_id}"]')
        row.find_element("css selector", "input[name=reasons]").send_keys("Answered; clear")
        click(row, "button[data-action=approve]")
        wait_for(officer, f'tr[data-id="{app_id}"] [data-testid=decided]')
    finally:
        officer.quit()

    wait_for(driver, "[data-testid=licence]")
    click(driver, "#f-kind option[value=END_USE_MAY_CHANGE]")
    fill(driver, "#f-details", "The end user may use the bars for a military contract")
    click(driver, "#report-change-button")
    assert "changeReports/" in text_of(driver, "[data-testid=change-reported]")

    driver.get(portal_url + "/#/screen")
    fill(driver, "#f-party\\.name", "Korea Ryonbong General Corporation")
    fill(driver, "#f-party\\.country", "KP")
    click(driver, "#screen-button")
    assert "RYONBONG" in text_of(driver, "tr[data-testid=hit]").upper()
    shot(driver, "portal-screen-party")


def test_an_officer_lists_a_party_and_the_public_finds_it_by_its_chinese_name(
        portal_url, driver):
    """List maintenance (Art. 18): an officer adds a party with a Chinese name to the control
    list in the portal; an anonymous visitor finds it by that name; the officer removes it."""
    tag = uuid.uuid4().hex[:6]
    zh = f"六边形动力贸易{tag}公司"
    english(driver, portal_url)
    sign_in(driver, portal_url, mint_token(role="officer", authority="MOFCOM"))
    driver.get(portal_url + "/#/lists")
    fill(driver, "#f-entry\\.primary_name", f"Hexagon Dynamics Trading FZE {tag}")
    fill(driver, "#f-entry\\.aliases", zh)
    fill(driver, "#f-entry\\.countries", "AE")
    fill(driver, "#f-entry\\.announcement", "商务部公告2026年第99号")
    fill(driver, "#f-reason", "diversion to a listed end user")
    click(driver, "#add-entry-button")
    entry_id = attr(driver, "[data-testid=entry-added]", "data-entry-id")
    assert entry_id.startswith("prc-control-list:")
    shot(driver, "portal-list-maintenance")

    public = browser()
    try:
        public.get(portal_url + "/#/search")
        public.execute_script("localStorage.clear()")
        public.get(f"{portal_url}/#/search?q={zh}")
        public.refresh()
        row = wait_for(public, "tr[data-testid=result]")
        assert entry_id in row.text and "CONTROL_LIST" in row.text
    finally:
        public.quit()

    fill(driver, "#f-entry_id", entry_id)
    fill(driver, "#f-remove_reason", "delisted on application (Reg. 29)")
    click(driver, "#remove-entry-button")
    assert entry_id in text_of(driver, "[data-testid=entry-removed]")
