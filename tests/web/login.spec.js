// The login flow as a nurse meets it (issue 15 item 8): every page sends her to the login page,
// whose answers carry the security headers; a wrong password keeps her out; the right one,
// typed with the keyboard alone, logs her in with a session cookie the page's scripts cannot
// read (HttpOnly, SameSite=Strict); logging out ends the session.
'use strict';
const { run, check } = require('./lib');

run(async (t) => {
  const page = t.page;

  // 1. Not logged in: the home page and a deeper page both lead to the login form.
  const first = await page.goto(t.url + '/');
  await t.loginForm().password.waitFor();
  await t.shot('login-page');
  const headers = first.headers();
  const csp = headers['content-security-policy'] || '';
  check(/default-src 'self'/.test(csp), `Content-Security-Policy without default-src 'self': [${csp}]`);
  check(/frame-ancestors 'none'/.test(csp), `Content-Security-Policy without frame-ancestors 'none': [${csp}]`);
  check(!/unsafe-inline/.test(csp), `Content-Security-Policy allows inline script: [${csp}]`);
  check(headers['x-content-type-options'] === 'nosniff', 'no X-Content-Type-Options: nosniff');
  check(headers['referrer-policy'] === 'no-referrer', 'no Referrer-Policy: no-referrer');
  check((await page.locator('input[type=password]').count()) === 1, 'the login page has no password field');
  check((await t.logoutControl().count()) === 0, 'a log-out control before logging in');
  // Every input of the page has a label.
  const unlabelled = await page.locator('input:not([type=hidden]), select, textarea').evaluateAll(
    (els) => els.filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
      .map((el) => el.name || el.id || el.type));
  check(unlabelled.length === 0, `inputs without a label: ${unlabelled.join(', ')}`);

  // A deeper page answers 401 or leads to the login form too.
  const deep = await page.goto(t.url + '/find');
  check(deep.status() === 401 || (await t.loginForm().password.count()) === 1,
        `/find without a session answered ${deep.status()} without the login form`);
  check((await page.context().cookies()).every((c) => !c.httpOnly || !/sess/i.test(c.name)),
        'a session cookie before logging in');

  // 2. A wrong password: still the login page, no session.
  await t.login(t.user, 'not the password at all');
  await t.loginForm().password.waitFor();
  check((await t.logoutControl().count()) === 0, 'a wrong password logged in');
  await t.shot('wrong-password');

  // 3. The right password, typed with the keyboard alone.
  await t.login();
  await t.logoutControl().first().waitFor();
  check((await page.locator('input[type=password]').count()) === 0, 'still a password field after logging in');
  const cookies = await page.context().cookies();
  const session = cookies.filter((c) => c.httpOnly);
  check(session.length >= 1, `no HttpOnly session cookie: ${JSON.stringify(cookies)}`);
  for (const c of session) {
    check(c.sameSite === 'Strict', `cookie ${c.name} is SameSite=${c.sameSite}, not Strict`);
    check(c.value.length >= 43, `cookie ${c.name} is too short for 256 random bits`);
  }
  check(!(await page.evaluate(() => document.cookie)).includes(session[0].value),
        'the page script can read the session cookie');
  await t.shot('logged-in');

  // 4. Log out: the session is over, the pages lead to the login form again.
  await t.logoutControl().first().click();
  await t.loginForm().password.waitFor();
  await t.shot('logged-out');
  await page.goto(t.url + '/');
  await t.loginForm().password.waitFor();
  check((await t.logoutControl().count()) === 0, 'still logged in after logging out');
});
