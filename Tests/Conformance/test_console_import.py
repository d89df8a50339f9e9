"""The console's "Import credentials" panel in a real browser (Debian chromium, Playwright), against the real
binary: paste a token file, Preview (the dry run), Import, and a second Import that is recognised. Under the
page's CSP, with no JavaScript error; the pasted secrets never come back to the page."""

from __future__ import annotations

import json

from test_console_browser import (  # noqa: F401 - pytest finds the fixtures by their names in this module
    ADMIN_KEY,
    UI_TIMEOUT_MS,
    Stack,
    _open_console,
    browser,
    row,
    stack,
)

REFRESH = "aorCONSOLEIMPORTREFRESH000000001"
SECRET = "CONSOLEIMPORTCLIENTSECRET0000001"
SSO_CACHE_FILE = json.dumps({
    "startUrl": "https://d-1234567890.awsapps.com/start", "region": "us-east-1", "accessToken": "aoaCONSOLEIMPORTACCESS",
    "expiresAt": "2025-01-01T00:00:00Z", "clientId": "CONSOLEIMPORTCLIENTID00001", "clientSecret": SECRET,
    "registrationExpiresAt": "2099-01-01T00:00:00Z", "refreshToken": REFRESH,
})
IDC_WITHOUT_CLIENT = json.dumps({
    "accessToken": "a", "refreshToken": "aorOTHER", "expiresAt": "2025-01-01T00:00:00Z",
    "clientIdHash": "e87895ae36d9539303a0bcd27feb465a60aeb433", "authMethod": "IdC", "provider": "Enterprise",
})


def test_console_imports_a_pasted_token_file(browser, stack: Stack):  # noqa: F811 - the imported fixtures
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context, page, _, page_errors, csp_messages = _open_console(browser, stack)
    try:
        page.fill("#admin-key", ADMIN_KEY)
        page.click("#sign-in")
        expect(page.locator("#app")).to_be_visible()

        page.fill("#import-token", IDC_WITHOUT_CLIENT)
        page.click("#import-preview-button")
        expect(page.locator("#import-result")).to_contain_text("client_file")

        page.fill("#import-token", SSO_CACHE_FILE)
        page.fill("#import-label", "Pasted")
        page.click("#import-preview-button")
        expect(page.locator("#import-result")).to_have_text("Would import as account pasted (after a successful refresh).")
        expect(page.locator("#import-preview")).to_contain_text("AWS SSO cache")
        expect(page.locator("#import-preview")).to_contain_text("refresh token sha256:")
        assert stack.admin.get("/v2/accounts/pasted").status_code == 404

        page.click("#import-submit")
        expect(page.locator("#import-result")).to_have_text("Imported as account pasted.")
        expect(row(page, "pasted")).to_be_visible()
        assert stack.account("pasted")["source"] == "state"
        assert page.input_value("#import-token") == ""  # the pasted secrets do not stay on the page

        page.fill("#import-token", SSO_CACHE_FILE)
        page.click("#import-submit")
        expect(page.locator("#import-result")).to_have_text("Already imported as account pasted; nothing to do.")

        shown = page.locator("#add-account").inner_text()
        assert REFRESH not in shown and SECRET not in shown
        assert page_errors == [], f"JavaScript errors on the console page: {page_errors}"
        violations = page.evaluate("window.__cspViolations")
        assert violations == [] and csp_messages == [], f"CSP violations: {violations} {csp_messages}"
    finally:
        context.close()
