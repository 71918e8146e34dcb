// Filing a scanned stack as a ward clerk does (issue 15 item 4): a consent is issued and
// "printed", its pages come back from the scanner unsigned (pdftoppm of the PDF, one PNG a
// page) together with a blank page; the page shows the document filed with its signature
// missing and the blank page in the inbox, whose page opens in a new tab; typing a document id
// that was never issued is refused; the document's page then shows the signed-copy version.
'use strict';
const { run, check } = require('./lib');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

run(async (t) => {
  const page = t.page;
  await t.login(process.env.CF_WEB_CLERK, process.env.CF_WEB_CLERK_PASSWORD);
  await t.logoutControl().first().waitFor();

  // Issue one consent through the page.
  await page.goto(t.url + '/form?id=sample-consent');
  await page.getByLabel(/病人姓名/).fill('黃燊');
  await page.getByLabel(/病歷號碼/).fill('HN55667788(1)');
  await page.getByLabel(/治療日期/).fill('2025-06-04');
  await page.getByLabel('左側').check();
  await page.getByRole('button', { name: /預覽 Preview/ }).click();
  await page.getByRole('button', { name: /發出/ }).click();
  await page.getByRole('heading', { name: /已發出 Issued/ }).waitFor();
  const id = (await page.locator('strong').first().textContent()).trim();
  const href = await page.getByRole('link', { name: /開啟 PDF/ }).getAttribute('href');
  const b64 = await page.evaluate(async (u) => {
    const bytes = new Uint8Array(await (await fetch(u)).arrayBuffer());
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }, href);
  const pdf = path.join(t.shots, 'issued.pdf');
  fs.writeFileSync(pdf, Buffer.from(b64, 'base64'));

  // The "scanner": every page at 150 dpi, plus a blank sheet.
  execFileSync('pdftoppm', ['-r', '150', '-png', pdf, path.join(t.shots, 'scan')]);
  const scans = fs.readdirSync(t.shots).filter((f) => /^scan-\d+\.png$/.test(f)).sort()
    .map((f) => path.join(t.shots, f));
  const blank = path.join(t.shots, 'blank.png');
  execFileSync('convert', ['-size', '1240x1754', 'xc:white', blank]);

  await page.getByRole('link', { name: /歸檔掃描/ }).click();
  await page.getByLabel(/掃描檔案/).setInputFiles([...scans, blank]);
  await t.shot('scans-chosen');
  await page.getByRole('button', { name: /上載並歸檔/ }).click();
  await page.getByText(/Filing result/).waitFor({ timeout: 60000 });
  await t.shot('filing-result');
  const html = await page.content();
  check(html.includes(id), `the filing result does not name the document ${id}`);
  check(/signature missing/.test(html), 'the unsigned scan is not reported as signature missing');
  check(/收件匣 inbox/.test(html), 'the blank page is not in the inbox');
  // The clerk finds the sheet by the file the browser sent, never by the server's temporary file.
  check(html.includes('blank.png'), 'the inbox does not name the uploaded file blank.png');
  check(!/up-[A-Za-z0-9]{6}/.test(html), 'the page shows the server\'s temporary file name');

  // The inbox page opens in a new tab; a made-up id is refused with the reason.
  const link = page.getByRole('link', { name: /開啟頁面/ }).first();
  check((await link.getAttribute('target')) === '_blank', 'the inbox page does not open in a new tab');
  const item = await page.evaluate(async (u) => (await fetch(u)).headers.get('content-type'),
    await link.getAttribute('href'));
  check(item === 'application/pdf', `the inbox page is ${item}`);
  await page.getByLabel(/文件編號/).first().fill('ZZZZZZZZZZZZZ');
  await page.getByLabel(/頁/).first().fill('1');
  await page.getByRole('button', { name: /歸檔 File/ }).first().click();
  await page.getByText(/未能歸檔此頁/).first().waitFor();
  await t.shot('inbox-refused');

  // The document page lists the signed copy.
  await page.goto(t.url + '/doc?id=' + id);
  await page.getByText(/signed/).first().waitFor();
  await t.shot('document-with-scan');
});
