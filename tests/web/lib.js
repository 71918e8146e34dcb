// Shared helpers of the browser specs (tests/web/*.spec.js), run by tests/web/run.sh, which
// starts `consentform serve` and sets:
//   CF_WEB_URL       the server, http://127.0.0.1:PORT
//   CF_WEB_USER      a nurse's name, CF_WEB_PASSWORD her password
//   CF_WEB_ADMIN     an admin's name, CF_WEB_ADMIN_PASSWORD his password
//   CF_WEB_STORE     the server's store (a fresh one per spec)
//   CF_WEB_SHOTS     the folder for this spec's screenshots (under meson-logs/web/)
//   CF_BINARY, CF_SOURCE_DIR as for every test.
// A spec is a plain Node script: `run(async (t) => { ... })`; it fails on the first thrown
// error, on any page error or console error (a CSP violation is one), and on any request the
// page sends to another origin (nothing may be fetched from outside).
'use strict';

const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the spec through tests/web/run.sh`);
  return v;
};

class Test {
  constructor(browser, context, page) {
    this.browser = browser;
    this.context = context;
    this.page = page;
    this.url = env('CF_WEB_URL');
    this.user = env('CF_WEB_USER');
    this.password = env('CF_WEB_PASSWORD');
    this.admin = process.env.CF_WEB_ADMIN;
    this.adminPassword = process.env.CF_WEB_ADMIN_PASSWORD;
    this.store = env('CF_WEB_STORE');
    this.shots = env('CF_WEB_SHOTS');
    this.problems = [];
    this.shotCount = 0;
    this.watch(page);
  }

  // Records page errors, console errors and requests to other origins of page (and of the
  // pages it opens: a PDF in a new tab).
  watch(page) {
    const origin = new URL(this.url).origin;
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A 401 or 403 answer is logged as "Failed to load resource"; it is what a spec checks
      // itself. Everything else (a CSP violation, a script error) is a problem.
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
        this.problems.push(`console error: ${m.text()}`);
    });
    page.on('request', (r) => {
      const u = r.url();
      if (!/^(data|blob|about):/.test(u) && new URL(u).origin !== origin)
        this.problems.push(`request to another origin: ${u}`);
    });
    page.on('popup', (p) => this.watch(p));
  }

  // Saves a full-page screenshot as NN-name.png in the spec's folder; returns its path.
  async shot(name, page = this.page) {
    this.shotCount += 1;
    const file = path.join(this.shots, `${String(this.shotCount).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
    return file;
  }

  // Logs in through the login page with the keyboard alone (as a nurse at a ward PC would):
  // the user name field is focused or reached with Tab, Enter submits.
  async login(user = this.user, password = this.password) {
    const page = this.page;
    await page.goto(this.url + '/');
    await this.loginForm().password.waitFor();
    const { name, password: pw } = this.loginForm();
    await name.focus();
    await page.keyboard.type(user);
    await page.keyboard.press('Tab');
    if (!(await pw.evaluate((el) => el === document.activeElement)))
      throw new Error('Tab from the user name field does not reach the password field');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.waitForLoadState('networkidle');
  }

  // The login form's fields, found by their labels (English or Chinese).
  loginForm() {
    const page = this.page;
    return {
      name: page.getByLabel(/user ?name|用戶名稱|使用者名稱|用戶名|帳號/i),
      password: page.getByLabel(/password|密碼/i),
    };
  }

  // The log-out control of a logged-in page.
  logoutControl() {
    return this.page.getByRole('button', { name: /log ?out|sign ?out|登出/i }).or(
      this.page.getByRole('link', { name: /log ?out|sign ?out|登出/i }));
  }

  // The text of a PDF file (pdftotext, layout kept).
  pdfText(file) {
    return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  }

  // Saves the download that action starts into the spec's folder; returns its path.
  async download(action, page = this.page) {
    const [dl] = await Promise.all([page.waitForEvent('download'), action()]);
    const file = path.join(this.shots, dl.suggestedFilename());
    await dl.saveAs(file);
    return file;
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Runs body(t) in a fresh browser (Debian's chromium), then closes it and exits 0 or 1.
function run(body) {
  (async () => {
    fs.mkdirSync(env('CF_WEB_SHOTS'), { recursive: true });
    const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
    const browser = await chromium.launch({
      executablePath: process.env.CF_CHROMIUM || '/usr/bin/chromium',
      args,
    });
    const context = await browser.newContext({
      locale: 'zh-HK',
      timezoneId: 'Asia/Hong_Kong',
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    const t = new Test(browser, context, page);
    let failed = null;
    try {
      await body(t);
    } catch (e) {
      failed = e;
      await t.shot('failure').catch(() => {});
    }
    await browser.close();
    if (failed) {
      console.error(`FAIL ${failed.stack || failed}`);
      process.exit(1);
    }
    if (t.problems.length) {
      for (const p of t.problems) console.error(`FAIL ${p}`);
      process.exit(1);
    }
    console.log('ok');
    process.exit(0);
  })().catch((e) => {
    console.error(`FAIL ${e.stack || e}`);
    process.exit(1);
  });
}

module.exports = { run, check };
