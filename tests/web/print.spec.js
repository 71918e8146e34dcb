// Print one form as a nurse would (issue 15 item 2): choose the form, type the patient's name,
// scan the hospital number (a USB scanner types it and presses Enter: the focus must move on,
// nothing is submitted), set the form's own fields, look at every page before printing, issue
// it, and open the PDF, whose text holds the patient's name and the document id. Then find the
// document again by hospital number and open its page.
'use strict';
const { run, check } = require('./lib');
const fs = require('fs');
const path = require('path');

run(async (t) => {
  const page = t.page;
  await t.login();
  await page.getByRole('heading', { name: /表格 Forms/ }).waitFor();
  await t.shot('forms');

  // The approved consent is offered; the shipped drafts are marked and not offered to a nurse.
  check((await page.locator('a[href="/form?id=nerve-root-injection"]').count()) === 0,
        'a draft form is offered to a nurse');
  check((await page.getByText(/草稿 draft/).count()) >= 1, 'drafts are not marked');
  await page.locator('a[href="/form?id=sample-consent"]').click();
  await page.getByLabel(/病人姓名/).waitFor();

  // Every input is labelled.
  const unlabelled = await page.locator('input:not([type=hidden]), select, textarea').evaluateAll(
    (els) => els.filter((el) => !(el.labels && el.labels.length)).map((el) => el.name));
  check(unlabelled.length === 0, `inputs without a label: ${unlabelled.join(', ')}`);

  // The ward (kept in the archive, not printed): typed once, offered again in this session.
  await page.getByLabel(/病房/).fill('7B');
  await page.getByLabel(/病人姓名/).focus();
  await page.keyboard.type('陳大文');
  await page.keyboard.press('Tab');
  // The scanner: digits then Enter, in the hospital number field.
  const hn = page.getByLabel(/病歷號碼/);
  check(await hn.evaluate((el) => el === document.activeElement), 'Tab does not reach the hospital number');
  await page.keyboard.type('HN00012345(6)');
  await page.keyboard.press('Enter');
  check(page.url().endsWith('/form?id=sample-consent'), `Enter in the scanned field submitted the form: ${page.url()}`);
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.name);
  check(focused === 'f_episode_no', `after the scanner's Enter the focus is on ${focused}, not the next field`);
  await page.keyboard.type('HE7654321');
  await page.getByLabel(/治療日期/).fill('2025-06-03');
  await page.getByLabel(/主治醫師/).fill('李醫生');
  await page.getByLabel('右側').check();
  await page.getByLabel(/高濃度血小板血漿/).check();
  await t.shot('form-filled');

  // Preview: every page drawn as SVG before anything is issued.
  await page.getByRole('button', { name: /預覽 Preview/ }).click();
  await page.getByRole('heading', { name: /預覽 Preview/ }).waitFor();
  const pages = await page.locator('.preview figure svg').count();
  check(pages >= 1, 'no page in the preview');
  const stored = execCount(t, 'list');
  check(stored === 0, `the preview issued something: ${stored} documents in the store`);
  await t.shot('preview');

  // Issue, then the PDF the new tab would show (fetched with the page's session).
  await page.getByRole('button', { name: /發出/ }).click();
  await page.getByRole('heading', { name: /已發出 Issued/ }).waitFor();
  const id = (await page.locator('strong').first().textContent()).trim();
  check(/^[0-9A-Z-]{8,32}$/.test(id), `no document id on the issued page: ${id}`);
  await t.shot('issued');
  const link = page.getByRole('link', { name: /開啟 PDF/ });
  check((await link.getAttribute('target')) === '_blank', 'the PDF does not open in a new tab');
  const href = await link.getAttribute('href');
  // Fetched by the page itself, with its cookie (as the new tab would).
  const got = await page.evaluate(async (u) => {
    const r = await fetch(u);
    const bytes = new Uint8Array(await r.arrayBuffer());
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return { status: r.status, type: r.headers.get('content-type'), body: btoa(bin) };
  }, href);
  check(got.status === 200, `the PDF answered ${got.status}`);
  check(got.type === 'application/pdf', `the PDF is ${got.type}, not application/pdf`);
  const file = path.join(t.shots, `${id}.pdf`);
  fs.writeFileSync(file, Buffer.from(got.body, 'base64'));
  const text = t.pdfText(file);
  check(text.includes('陳大文'), "the PDF does not hold the patient's name");
  check(text.replace(/\s/g, '').includes(id), `the PDF does not hold the document id ${id}`);
  check(!text.includes('7B'), 'the ward is printed on the form');

  // Find it again by hospital number; its page shows the history with the nurse's name.
  await page.getByRole('link', { name: /尋找 Find/ }).click();
  await page.getByLabel(/醫院編號/).fill('HN00012345(6)');
  await page.keyboard.press('Enter');
  await page.getByRole('link', { name: id }).waitFor();
  await t.shot('find');
  await page.getByRole('link', { name: id }).click();
  await page.getByText(/issued\s+by/).waitFor();
  check((await page.content()).includes(t.user), 'the history does not name the nurse');
  // The download above is in the history, with the nurse's name; the ward is on the record.
  const history = await page.locator('pre').textContent();
  check(new RegExp(`downloaded\\s+by ${t.user}.*reason: issued PDF`).test(history),
        `the download is not in the history: ${history}`);
  check(/ward\s+7B/.test(history), `the ward is not on the record: ${history}`);
  await t.shot('document');
  // The next form of this session offers the same ward.
  await page.goto(new URL('/form?id=sample-consent', page.url()).href);
  check((await page.getByLabel(/病房/).inputValue()) === '7B', 'the ward is not remembered');
});

// Number of documents in the store (consentform archive list).
function execCount(t, what) {
  const { execFileSync } = require('child_process');
  const out = execFileSync(process.env.CF_BINARY, ['archive', what, t.store], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /^[0-9A-Z-]{8,}\s+\S+@/.test(l)).length;
}
