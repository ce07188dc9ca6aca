"""The page in a real headless Chromium (Debian's `chromium` + `chromium-driver`, via Selenium)
against a real `diffagent serve` on 127.0.0.1: type, submit, read the cards, copy an export, and
see the refusal of an empty prompt. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.processes import REPO
from tests.serve.servers import serve_process

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# Flags that run here: no sandbox (root in a container), no GPU, nothing phoning home.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def test_page_in_chromium(browser, preview_dabench, embeddings_cache, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 120)
    with serve_process(preview_dabench, tmp_path / "serve.log") as (url, _):
        browser.get(f"{url}/")
        unlabelled = browser.execute_script(
            "return [...document.querySelectorAll('textarea, select, input')]"
            ".filter(e => !document.querySelector('label[for=\"' + e.id + '\"]')).map(e => e.name)"
        )
        assert unlabelled == []
        browser.find_element(By.ID, "prompt").send_keys("pixel art knight, 8-bit retro sprite")
        browser.find_element(By.ID, "negative_prompt").send_keys("blurry")
        top_k = browser.find_element(By.ID, "top_k")
        top_k.clear()
        top_k.send_keys("3", Keys.ENTER)  # the keyboard submits the form
        wait.until(ready.presence_of_all_elements_located((By.CSS_SELECTOR, "ol.cards li.card")))
        cards = browser.find_elements(By.CSS_SELECTOR, "ol.cards li.card")
        assert len(cards) == 3
        first = cards[0]
        assert first.find_element(By.CSS_SELECTOR, "h3 a").text == "Pixel Art XL"
        link = first.find_element(By.CSS_SELECTOR, "h3 a").get_attribute("href")
        assert link == "https://civitai.com/models/103?modelVersionId=1003"
        assert "Base checkpoint" in first.text and "Juggernaut XL" in first.text
        parameters = first.find_element(By.CSS_SELECTOR, ".parameters").text
        assert "Sampler" in parameters and "DPM++ 2M Karras" in parameters and "1024x1024" in parameters
        image = first.find_element(By.TAG_NAME, "img")
        assert image.get_attribute("src").startswith("data:image/svg+xml")
        assert browser.execute_script("return arguments[0].naturalWidth", image) > 0
        assert "ms" in first.text and "Score" in first.text

        browser.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )
        copy = first.find_element(By.CSS_SELECTOR, "button[data-copy='export-1-a1111']")
        copy.send_keys(Keys.ENTER)  # a focused button works from the keyboard
        wait.until(ready.text_to_be_present_in_element((By.ID, "copy-status"), "Copied A1111 infotext"))
        copied = browser.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
        expected = browser.execute_script("return document.getElementById('export-1-a1111').textContent")
        assert copied == expected and "<lora:3:1>" in copied and "Sampler: DPM++ 2M Karras" in copied
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "page-results.png"))

        prompt = browser.find_element(By.ID, "prompt")
        prompt.clear()
        prompt.send_keys("   ")
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        alert = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
        assert "prompt is empty or only whitespace" in alert.text
        assert browser.find_elements(By.CSS_SELECTOR, "li.card") == []
        browser.save_screenshot(str(ARTIFACTS / "page-refused.png"))
