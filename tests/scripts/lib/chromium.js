// Shared by the browser script tests (serve_browser, serve_browser_feedback,
// serve_long_chat): Debian's headless Chromium through playwright-core (on NODE_PATH, set
// by need_node_pkgs) with a fresh profile folder, and its first page with the page's
// uncaught errors collected.
const { chromium } = require('playwright-core');

// open(profileDir, viewport) -> { browser, page, errors }
exports.open = async (profileDir, viewport) => {
  const browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium', headless: true, viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] || await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { browser, page, errors };
};
