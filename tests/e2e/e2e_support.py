"""What the end-to-end tests of the window (desktop_test.py) and of the browser screens (browser_test.py)
share: waiting for the page, and finding elements by their test id."""

import time

from selenium.webdriver.common.by import By


def wait_for(what, check, timeout=20.0, every=0.2):
    """Polls `check` until it returns something truthy; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as e:  # the page may be re-rendering: try again
            last_error = e
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def by_test_id(driver, test_id):
    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{test_id}"]')
