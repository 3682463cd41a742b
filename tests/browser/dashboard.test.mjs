// The coordinator's dashboard in a real browser: Debian's chromium (headless)
// driven by playwright-core, against a real havend filled by a real device
// (haven enroll, import, sync) on 127.0.0.1. The table shows the figures an
// independent count of the imported records gives, the chart has a bar per
// category, the public view shows no cell under k, and the annual report
// opens. Live: a sync while the page is open shows its figures without a
// reload, and after havend restarts the page reconnects and shows a later
// sync; each table says which teams it has and when they last synced.
// Screenshots go to --out.
// Usage: node dashboard.test.mjs --havend PATH --haven PATH --chromium PATH --out DIR
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { options, run, step } from './harness.mjs';

const args = options(['havend', 'haven', 'chromium', 'out']);
const { dir, start, stop, finish } = run('dashboard-browser', 210);

let browser;
try {
  const central = join(dir, 'central.db');
  const device = join(dir, 'device.db');
  let havend = await start(args.havend, ['--db', central, '--listen', '127.0.0.1:0']);
  const address = havend.line.replace('listening on ', '');
  const run = (program, argv) => execFileSync(program, argv, { encoding: 'utf8' });

  step('a device enrolls, records assistance cases and syncs');
  const { code } = JSON.parse(run(args.havend, ['--db', central, 'enroll', '--name', 'shelter', '--team', 'crisis', '--json']));
  run(args.haven, ['--db', device, 'enroll', '--server', `ws://${address}`, '--code', code]);
  const token = /Authorization: Bearer (\S+)/.exec(run(args.havend, ['--db', central, 'token', '--name', 'coordinator']))[1];
  const year = new Date().getFullYear() - 1;  // a whole past year: every date is valid
  const persons = run(args.haven, ['card-codes', '--count', '60']).split('\n').filter((l) => l.startsWith('K-'));
  // [programme, nationality, sex, persons]
  const groups = [
    ['crisis-accommodation', 'UA', 'female', 12], ['crisis-accommodation', 'UA', 'male', 9],
    ['crisis-accommodation', 'SY', 'female', 7], ['crisis-accommodation', 'SY', 'male', 6],
    ['crisis-accommodation', 'RS', 'female', 2],
    ['reintegration', 'UA', 'female', 8], ['reintegration', 'UA', 'male', 6], ['reintegration', 'AF', 'male', 1],
  ];
  const lines = [];
  let next = 0;
  for (const [programme, nationality, sex, n] of groups)
    for (let i = 0; i < n; ++i, ++next)
      lines.push(JSON.stringify({ type: 'assistance_case', fields: {
        programme, nationality, sex, person: persons[next],
        admitted: `${year}-0${1 + (next % 9)}-10`, discharged: `${year}-0${1 + (next % 9)}-20` } }));
  writeFileSync(join(dir, 'cases.jsonl'), lines.join('\n') + '\n');
  run(args.haven, ['--db', device, 'import', join(dir, 'cases.jsonl')]);
  run(args.haven, ['--db', device, 'sync']);
  // The oracle: persons per programme, counted from the groups above, by the programme's label.
  const label = { 'crisis-accommodation': 'Crisis accommodation', reintegration: 'Reintegration' };
  const byProgramme = {};
  for (const [programme, , , n] of groups) byProgramme[label[programme]] = (byProgramme[label[programme]] ?? 0) + n;

  browser = await chromium.launch({ executablePath: args.chromium, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });

  step('the coordinator signs in with the token and picks the table');
  await page.goto(`http://${address}/`);
  await page.locator('#token').fill(token);
  await page.locator('#token').press('Enter');
  await page.locator('#tally option[value="assisted-by-nationality-sex"]').waitFor({ state: 'attached' });
  await page.locator('#tally').selectOption('assisted-by-nationality-sex');
  await page.locator('#year').fill(String(year));
  await page.locator('#year').dispatchEvent('change');
  const rowTotal = async (name) => {
    // a subtotal line's name is followed by its "subtotal" tag
    const row = page.locator('#report tr', { has: page.locator('td.row', { hasText: new RegExp(`^${name}(subtotal|vmesni seštevek)?$`, 'i') }) }).first();
    return (await row.locator('td').last().textContent()).trim();
  };
  await page.locator('#report table').waitFor();
  await page.waitForFunction((y) => document.getElementById('title').textContent.includes(String(y)), year);
  for (const [programme, n] of Object.entries(byProgramme))
    assert.equal(await rowTotal(programme), String(n), `persons in ${programme}`);
  assert.equal(await rowTotal('Total'), String(next));

  step('the chart has a bar per programme, stacked by sex');
  await page.locator('#chart svg').waitFor();
  const chartLabels = await page.locator('#chart svg > text').allTextContents();
  for (const programme of Object.keys(byProgramme)) assert.ok(chartLabels.includes(programme), `chart label ${programme} in ${chartLabels}`);
  const barRows = new Set(await page.locator('#chart svg rect.bar').evaluateAll((rects) => rects.map((r) => r.getAttribute('y'))));
  assert.equal(barRows.size, Object.keys(byProgramme).length);
  // and a line through the months: the cases were admitted from January to September
  await page.locator('#months svg path.line').waitFor();
  assert.equal(await page.locator('#months svg circle.point').count(), 12);
  await page.screenshot({ path: join(args.out, 'dashboard-internal.png'), fullPage: true });

  step('the public view: no figure under 5, and the audit stated');
  await page.locator('#view').selectOption('public');
  await page.locator('#view-note', { hasText: 'Public view' }).waitFor();
  const cells = await page.locator('#report td:not(.row)').allTextContents();
  assert.ok(cells.includes('<5'), 'some cell is hidden');
  for (const text of cells) {
    const n = Number(text);
    assert.ok(text === '<5' || n === 0 || n >= 5, `a shown figure under 5: ${text}`);
  }
  assert.match(await page.locator('#view-note').textContent(), /Audit passed/);
  await page.screenshot({ path: join(args.out, 'dashboard-public.png'), fullPage: true });

  step('years side by side: the year before and this one');
  await page.locator('#from').fill(String(year - 1));
  await page.locator('#from').dispatchEvent('change');
  await page.waitForFunction((y) => document.getElementById('title').textContent.includes(`${y - 1}–${y}`), year);
  const years = await page.locator('#report th').allTextContents();
  assert.ok(years.includes(String(year - 1)) && years.includes(String(year)), `year columns: ${years}`);
  await page.locator('#from').fill('');
  await page.locator('#from').dispatchEvent('change');
  await page.waitForFunction((y) => !document.getElementById('title').textContent.includes(`${y - 1}–`), year);

  step('in Slovenian: the labels, the words and the figures');
  await page.locator('#view').selectOption('internal');
  await page.locator('#lang').selectOption('sl');
  await page.locator('#view-note', { hasText: 'Notranji pogled' }).waitFor();
  await page.waitForFunction(() => document.getElementById('title').textContent.startsWith('Osebe v programih pomoči'));
  assert.equal(await rowTotal('Krizna namestitev'), String(byProgramme['Crisis accommodation']));
  assert.equal(await rowTotal('Skupaj'), String(next));
  assert.ok((await page.locator('#report td.row').allTextContents()).some((t) => t.startsWith('Ukrajina')), 'Ukraine as Ukrajina');
  assert.ok((await page.locator('#report th').allTextContents()).some((t) => t.startsWith('Ženski')), 'the column female as Ženski');
  assert.equal(await page.locator('label span[data-say="year"]').textContent(), 'Leto');
  await page.screenshot({ path: join(args.out, 'dashboard-sl.png'), fullPage: true });
  await page.locator('#lang').selectOption('en');
  await page.locator('#view').selectOption('public');
  await page.locator('#view-note', { hasText: 'Public view' }).waitFor();

  step('the annual report opens in a new tab, in the public view');
  const [report] = await Promise.all([context.waitForEvent('page'), page.locator('#annual').click()]);
  await report.waitForLoadState();
  await report.locator('h1', { hasText: String(year) }).waitFor();
  assert.ok(await report.locator('text=Safe to publish').count() > 0);
  assert.ok(await report.locator('svg.chart').count() >= 1);
  await report.screenshot({ path: join(args.out, 'report-public.png') });
  await report.close();

  // More cases of crisis accommodation, recorded and synced by the device.
  let added = 0;
  const pushCases = (n) => {
    const more = [];
    for (let i = 0; i < n; ++i, ++next, ++added)
      more.push(JSON.stringify({ type: 'assistance_case', fields: {
        programme: 'crisis-accommodation', nationality: 'UA', sex: 'female', person: persons[next],
        admitted: `${year}-10-0${1 + i}`, discharged: `${year}-10-2${1 + i}` } }));
    const file = join(dir, `more-${added}.jsonl`);
    writeFileSync(file, more.join('\n') + '\n');
    run(args.haven, ['--db', device, 'import', file]);
    run(args.haven, ['--db', device, 'sync']);
  };
  const totalShown = (n) => page.waitForFunction((want) => {
    const row = [...document.querySelectorAll('#report tr.total')][0];
    return row && row.lastElementChild.textContent.trim() === String(want);
  }, n, { timeout: 10_000 });

  step('live: a device syncs while the dashboard is open; the new figure appears without a reload');
  await page.locator('#view').selectOption('internal');
  await page.locator('#view-note', { hasText: 'Internal view' }).waitFor();
  await page.locator('#live.live').waitFor();
  await page.evaluate(() => { window.notReloaded = true; });
  assert.equal(await rowTotal('Total'), String(next));
  pushCases(3);
  await totalShown(next);  // the bound is a timeout: the figure comes with the sync's event
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  assert.equal(await rowTotal('Crisis accommodation'), String(byProgramme['Crisis accommodation'] + added));

  step('completeness: the team that synced is listed under the table, not stale');
  const team = page.locator('#completeness li[data-team="crisis"]');
  await team.waitFor();
  assert.match(await team.textContent(), /crisis: last sync \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(within the last day\)$/);
  assert.match(await page.locator('#completeness').textContent(), /every team .* has synced within 14 days/);

  step('havend restarts: the dashboard shows it is reconnecting, reconnects, and shows a later push');
  await stop(havend.child);
  await page.locator('#live.reconnecting').waitFor();
  await page.screenshot({ path: join(args.out, 'dashboard-reconnecting.png'), clip: { x: 0, y: 0, width: 1280, height: 120 } });
  havend = await start(args.havend, ['--db', central, '--listen', address]);
  await page.locator('#live.live').waitFor({ timeout: 40_000 });
  pushCases(2);
  await totalShown(next);
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  await page.screenshot({ path: join(args.out, 'dashboard-live.png'), fullPage: true });

  step('on a tablet (820 × 1180, portrait): no part of the page wider than the screen');
  await page.setViewportSize({ width: 820, height: 1180 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a tablet`);
  await page.screenshot({ path: join(args.out, 'dashboard-tablet.png'), fullPage: true });
  console.log('dashboard test: passed');
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  finish();
}
