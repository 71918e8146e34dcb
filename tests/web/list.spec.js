// Tomorrow's list as a ward clerk runs it (issue 15 item 3): upload the 30-row CSV as it was
// exported (a caption and an alias for column names, one row with an impossible date), see how
// its columns were matched and the preflight of every row, then download the good rows as a ZIP
// of single PDFs (unzip -t; 29 PDFs and the manifest), each issued into the store; the
// "still unsigned" list of the day shows them and prints.
'use strict';
const { run, check } = require('./lib');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

run(async (t) => {
  const page = t.page;
  const names = ['陳大文', '李志堃', '張喆', '黃燊', '何淼', '林峯', '王邨', 'CHAN Tai Man', '周美玲', '吳家豪'];
  let csv = 'Patient Name,病歷號碼,procedure_date,side,Ward\r\n';
  for (let i = 0; i < 30; i++) {
    const date = i === 7 ? '2025-02-30' : '2025-06-0' + (1 + (i % 5));
    csv += `${names[i % 10]},HN${String(20000000 + i)}(${i % 10}),${date},${i % 2 ? 'left' : 'right'},5A\r\n`;
  }
  const file = path.join(t.shots, 'tomorrow.csv');
  fs.writeFileSync(file, '\ufeff' + csv);

  await t.login(process.env.CF_WEB_CLERK, process.env.CF_WEB_CLERK_PASSWORD);
  await t.logoutControl().first().waitFor();
  await page.getByRole('link', { name: /明日名單/ }).click();
  await page.getByLabel(/表格 Form/).selectOption('sample-consent');
  await page.getByLabel(/CSV/).setInputFiles(file);
  await t.shot('upload');
  await page.getByRole('button', { name: /上載並檢查/ }).click();
  await page.getByText(/How the columns were matched/).waitFor();
  const html = await page.content();
  check(/病歷號碼<\/td><td>hospital_no/.test(html), 'the caption column is not matched to hospital_no');
  check(/Patient Name<\/td><td>patient_name/.test(html), 'Patient Name is not matched to patient_name');
  check(html.includes('30 行') && html.includes('29 可列印'), 'the preflight does not count 29 good rows of 30');
  check(html.includes('2025-02-30'), 'the bad row is not shown with its value');
  const heads = await page.locator('table:has(caption:has-text("Preflight")) th').allTextContents();
  for (const run of ['file', 'document_id', 'sha256', 'pages', 'override', 'form_sha256'])
    check(!heads.includes(run), `the preflight shows the run column ${run}: ${heads.join(', ')}`);
  await t.shot('preflight');

  const zip = await t.download(() => page.getByRole('button', { name: /下載 ZIP/ }).click());
  execFileSync('unzip', ['-t', zip]);
  const listing = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n');
  const pdfs = listing.filter((n) => n.endsWith('.pdf'));
  check(pdfs.length === 29, `the ZIP has ${pdfs.length} PDFs, not 29`);
  check(listing.includes('manifest.csv'), 'the ZIP has no manifest');
  // One of them, by text: the patient's name and its document id (from the manifest).
  const manifest = execFileSync('unzip', ['-p', zip, 'manifest.csv'], { encoding: 'utf8' });
  const row = manifest.split('\n').find((l) => l.startsWith('2,'));
  const [, status, name, id] = row.split(',');
  check(status === 'ok' || status === 'printed', `row 2 is ${status}`);
  const one = path.join(t.shots, 'row2.pdf');
  fs.writeFileSync(one, execFileSync('unzip', ['-p', zip, name]));
  const text = t.pdfText(one);
  check(text.includes('陳大文'), 'the first PDF does not hold the first patient');
  check(text.replace(/\s/g, '').includes(id), `the first PDF does not hold its id ${id}`);

  // Every good row is in the store, still unsigned: the printable list of the day.
  await page.getByRole('link', { name: /未簽署/ }).click();
  await page.getByText(/29 份未簽署/).waitFor();
  await t.shot('unsigned');
  check((await page.getByRole('button', { name: /列印此清單/ }).count()) === 1, 'no print button');
  await page.emulateMedia({ media: 'print' });
  await t.shot('unsigned-print');
  await page.emulateMedia({ media: 'screen' });

  // The list's Ward column is each document's ward: the unsigned list of ward 5A, printed as
  // only its heading (ward and date) and its table.
  check(html.includes('the ward of each row'), 'the matching does not show the ward column');
  await page.getByLabel(/病房/).selectOption('5A');
  await page.getByRole('button', { name: /顯示 Show/ }).click();
  await page.getByText(/29 份未簽署/).waitFor();
  const heading = await page.locator('.printable h2').textContent();
  check(/Ward\s*5A/.test(heading) && /\d{4}-\d{2}-\d{2}/.test(heading),
        `the heading does not name the ward and the date: ${heading}`);
  await page.emulateMedia({ media: 'print' });
  const shown = await page.evaluate(() => Array.from(document.querySelectorAll(
    'header, footer, h1, form.filter, .actions')).filter((el) => getComputedStyle(el).display !== 'none').length);
  check(shown === 0, `${shown} parts besides the heading and the table are printed`);
  check(await page.locator('.printable table').isVisible(), 'the table is not printed');
  await t.shot('unsigned-ward-print');
  await page.emulateMedia({ media: 'screen' });

  // The ZIP download is in each document's history, with the clerk's name.
  await page.getByRole('link', { name: id }).click();
  const history = await page.locator('pre').textContent();
  check(/downloaded\s+by \S+.*issued PDF in list ZIP/.test(history) && /ward\s+5A/.test(history),
        `the ZIP download is not in the history of ${id}: ${history}`);
  await t.shot('document-history');
});
