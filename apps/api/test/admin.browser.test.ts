import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startTestStack, waitFor, type TestStack } from '@push/testing';

// The job-status page and bull-board in a real browser: Debian's Chromium driven by playwright-core.
// ADMIN_SCREENSHOT=/path.png keeps a screenshot of the jobs page with a job opened.

const iosToken = (n: number) => `b0${n}`.padEnd(64, 'f');
const fcmToken = (n: number) => `browser_token_${String(n).padStart(20, '0')}`;

/** Waits until `rows` has exactly `n` elements (the page's strict CSP refuses waitForFunction's eval). */
const rowCount = (rows: Locator, n: number) =>
  waitFor(async () => ((await rows.count()) === n ? true : undefined), 10_000, `${n} result rows`);

describe('the admin pages in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    stack = await startTestStack('admin-browser', { apns: { dead: [iosToken(1)] } });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({
      httpCredentials: { username: 'admin', password: stack.api.apiKey },
      viewport: { width: 1280, height: 800 },
    });
    // Nothing leaves this machine: bull-board's web font and anything else not served by the API is refused.
    const origin = new URL(stack.api.url).origin;
    await context.route(
      (url) => url.origin !== origin,
      (route) => route.abort(),
    );
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows a pushed job completing with its totals, and its per-token results when clicked', async () => {
    for (let i = 0; i < 3; i++) {
      await stack.register(`b${i}`, 'ios', iosToken(i));
      await stack.register(`b${i}`, 'android', fcmToken(i));
    }
    const jobId = await stack.push(['b0', 'b1', 'b2'], { alert: 'browser', title: 'Hello' });

    await page.goto(`${stack.api.url}/admin/jobs`);
    const row = page.locator(`#jobs tr[data-job-id="${jobId}"]`);
    // The page polls every 2 s: the row turns `completed` without a reload.
    await row.locator('.state.completed').waitFor({ timeout: 20_000 });
    const total = (name: string) => row.locator(`.total-${name}`).textContent();
    expect(await total('clients')).toBe('3');
    expect(await total('tokens')).toBe('6');
    expect(await total('sent')).toBe('5');
    expect(await total('invalid')).toBe('1');
    expect(await total('failed')).toBe('0');
    expect(await total('expired')).toBe('0');
    expect(await row.locator('[data-platform="ios"] .chunks').textContent()).toBe('1/1');
    expect(await row.locator('[data-platform="android"] .chunks').textContent()).toBe('1/1');

    await row.click();
    await page.locator('#detail-id', { hasText: jobId }).waitFor();
    const results = page.locator('#results tbody tr');
    await rowCount(results, 6);
    expect(await results.count()).toBe(6);
    expect(await page.locator('#results-count').textContent()).toBe('6 results');
    const invalid = page.locator('#results tbody tr', { has: page.locator('.result-status', { hasText: 'invalid' }) });
    expect(await invalid.count()).toBe(1);
    expect(await invalid.locator('.token').textContent()).toBe(iosToken(1));
    expect(await invalid.locator('.client').textContent()).toBe('b1');
    expect(await invalid.locator('.reason').textContent()).toBe('Unregistered');
    if (process.env.ADMIN_SCREENSHOT) await page.screenshot({ path: process.env.ADMIN_SCREENSHOT, fullPage: true });

    // The status filter reads one stream only.
    await page.selectOption('#filter', 'sent');
    await rowCount(results, 5);
    expect(await page.locator('#results .result-status', { hasText: 'invalid' }).count()).toBe(0);
    expect(page.url()).toBe(`${stack.api.url}/admin/jobs#${jobId}`);
  });

  it('shows a scheduled job, when it goes out, and cancels it with the button', async () => {
    await stack.register('b9', 'ios', iosToken(9));
    const sendAt = Math.floor(Date.now() / 1000) + 3600;
    const res = await stack.api.request('POST', '/push/push2clients', { clients: ['b9'], payload: { alert: 'later' }, sendAt });
    const jobId = res.body.result.jobId as string;

    await page.goto(`${stack.api.url}/admin/jobs`);
    const row = page.locator(`#jobs tr[data-job-id="${jobId}"]`);
    await row.locator('.state.scheduled').waitFor({ timeout: 10_000 });
    expect(await row.locator('.plan').textContent()).toBe(await page.evaluate((at) => new Date(at).toLocaleString(), sendAt * 1000));
    await row.click();
    await page.locator('#detail-plan', { hasText: 'goes out' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('#cancel').click();
    await row.locator('.state.canceled').waitFor({ timeout: 10_000 });
    expect(await page.locator('#cancel').isHidden()).toBe(true);
    expect((await stack.api.request('GET', `/push/jobs/${jobId}`)).body.result.state).toBe('canceled');
  });

  it('shows bull-board with both platform queues', async () => {
    await page.goto(`${stack.api.url}/admin/queues`);
    for (const name of ['apns', 'fcm']) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
    expect(await page.title()).toBe('Push queues');
    if (process.env.ADMIN_SCREENSHOT) await page.screenshot({ path: process.env.ADMIN_SCREENSHOT.replace(/\.png$/, '-queues.png') });
  });
});
