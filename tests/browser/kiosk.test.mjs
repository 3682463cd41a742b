// The kiosk app in a real browser: Debian's chromium (headless) driven by
// playwright-core, against a real haven-kiosk and a real havend on 127.0.0.1.
// A person enrolls the device, taps one record of each type, makes a
// mistake, derives a person code, edits, deletes, records offline, is locked
// out after idle time; the local API refuses what is not the page.
// Usage: node kiosk.test.mjs --kiosk PATH --havend PATH --haven PATH
//        --chromium PATH --out DIR   (screenshots go to DIR)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { options, run, step, request, eventually } from './harness.mjs';

const args = options(['kiosk', 'havend', 'haven', 'chromium', 'out']);
// The whole run is bounded: a hang fails instead of blocking CI.
const { dir, start, stop, finish } = run('kiosk-browser', 300);

let browser;
let page;
try {
  // --- a server, a one-time code, a kiosk --------------------------------
  const central = join(dir, 'central.db');
  const device = join(dir, 'device.db');
  let havend = await start(args.havend, ['--db', central, '--listen', '127.0.0.1:0']);
  const serverAddress = havend.line.replace('listening on ', '');
  const enrollment = JSON.parse(execFileSync(args.havend,
    ['--db', central, 'enroll', '--name', 'tablet', '--team', 'outreach', '--json'], { encoding: 'utf8' }));
  const tokenText = execFileSync(args.havend, ['--db', central, 'token', '--name', 'coordinator'], { encoding: 'utf8' });
  const token = /Authorization: Bearer (\S+)/.exec(tokenText)[1];
  const year = new Date().getFullYear();
  const tally = async (id) => {
    const r = await request(serverAddress, 'GET', `/api/tallies/${id}?year=${year}`, { Authorization: `Bearer ${token}` });
    return r.status === 200 ? JSON.parse(r.text).total : {};
  };

  const kiosk = await start(args.kiosk, ['--db', device, '--listen', '127.0.0.1:0', '--server', `http://${serverAddress}`]);
  const url = kiosk.line;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const kioskAddress = url.slice(7, -1);
  const page0 = await request(kioskAddress, 'GET', '/');
  const secret = /name="haven-secret" content="([0-9a-f]{64})"/.exec(page0.text)[1];
  const own = { 'X-Haven-Kiosk': secret, 'Content-Type': 'application/json' };
  const localApi = async (method, path, body) => {
    const r = await request(kioskAddress, method, path, own, body === undefined ? undefined : JSON.stringify(body));
    return { status: r.status, body: JSON.parse(r.text) };
  };
  const records = async () => (await localApi('GET', '/api/records?limit=5000')).body;

  browser = await chromium.launch({ executablePath: args.chromium, headless: true });
  const context = await browser.newContext({ viewport: { width: 800, height: 1280 }, locale: 'en-GB' });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => { console.error(`page error: ${e.message}`); process.exitCode = 1; });
  const shot = async (name, size) => {
    if (size) await page.setViewportSize(size);
    await page.screenshot({ path: join(args.out, `${name}.png`) });
  };
  const portrait = { width: 800, height: 1280 };
  const landscape = { width: 1280, height: 800 };

  // --- enrollment --------------------------------------------------------
  step('enroll with the one-time code and choose a PIN');
  await page.goto(url);
  await page.locator('#enroll-code').fill(enrollment.code);
  await page.locator('#enroll-pin').fill('4711');
  await page.locator('#enroll-pin-again').fill('4711');
  await shot('enroll-portrait');
  await page.getByRole('button', { name: 'Set up' }).click();
  await page.locator('button[data-type="pats_session"]').waitFor();
  assert.equal((await localApi('GET', '/api/status')).body.team, 'outreach');

  const newRecord = async (type) => {
    await page.locator('#home-button').click();
    await page.locator(`button[data-type="${type}"]`).click();
    await page.locator(`#record-form[data-type="${type}"]`).waitFor();
  };
  const tap = (field, code) => page.locator(`[data-field="${field}"] button[data-code="${code}"]`).click();
  const save = async () => {
    await page.locator('#save').click();
    await page.locator('button[data-type="pats_session"]').waitFor();  // back home
  };

  // --- the person code ---------------------------------------------------
  step('an individual session: derive the person code in the dialog');
  const person = { given: 'Zlatoslava', family: 'Kovalenkova', birth: '1987-03-14', country: 'UA' };
  await newRecord('pats_session');
  assert.equal(await page.locator('#field-date').inputValue(), new Date().toLocaleDateString('sv'));  // today preselected
  await tap('site', 'vic');
  await tap('format', 'individual');
  await page.locator('#derive-person').click();
  await page.locator('#person-given').fill(person.given);
  await page.locator('#person-family').fill(person.family);
  await page.locator('#person-birth').fill(person.birth);
  await page.locator('#person-nationality').fill(person.country);
  await shot('person-code-portrait');
  await page.locator('#person-use').click();
  await page.locator('#person-dialog').waitFor({ state: 'detached' });
  const code = await page.locator('#field-person').inputValue();
  assert.match(code, /^P-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  const html = await page.content();
  for (const secretWord of [person.given, person.family, person.birth])
    assert.ok(!html.includes(secretWord), `the page still holds ${secretWord} after the dialog closed`);
  await tap('sex', 'female');
  await shot('form-portrait');
  await shot('form-landscape', landscape);
  await page.setViewportSize(portrait);
  await save();

  // --- a mistake is shown inline and nothing is saved ---------------------
  step('a validation mistake: 2 participants in an individual session');
  const before = (await records()).total;
  await newRecord('pats_session');
  await tap('site', 'logatec');
  await tap('format', 'individual');
  await page.getByRole('button', { name: 'Participants: More' }).click();  // 1 -> 2
  const participantsIssue = page.locator('[data-field="participants"] .issue');
  await participantsIssue.waitFor();
  assert.match(await participantsIssue.textContent(), /1/);
  await page.locator('#save').click();
  await page.locator('[data-field="person"] .issue').waitFor();  // a person is required
  await shot('mistake-portrait');
  assert.equal((await records()).total, before, 'an invalid record was saved');
  // Corrected, it saves: a group session refuses a person, and 25 come.
  await tap('format', 'group');
  await page.locator('#field-participants').fill('25');
  await participantsIssue.waitFor({ state: 'detached' });
  await save();
  assert.equal((await records()).total, before + 1);

  step('an assistance case with a code typed from a printed card');
  const card = execFileSync(args.haven, ['card-codes', '--count', '1'], { encoding: 'utf8' }).trim();
  await newRecord('assistance_case');
  await tap('programme', 'crisis-accommodation');
  await page.locator('#field-person').fill(card);
  await tap('sex', 'male');
  await page.locator('#field-nationality').fill('Ukr');
  await tap('nationality', 'UA');
  await page.locator('[data-field="services"] input[value="food"]').check();
  await page.locator('[data-field="services"] input[value="interpreting"]').check();
  await save();

  step('an on-call call, with the stepper');
  await newRecord('on_call_event');
  await tap('caller', 'police');
  await tap('outcome', 'admitted');
  for (let i = 0; i < 3; ++i) await page.getByRole('button', { name: 'Response time (minutes): More' }).click();
  assert.equal(await page.locator('#field-response_minutes').inputValue(), '2');
  await save();

  step('a workshop, the region from its searchable list');
  await newRecord('prevention_workshop');
  await tap('audience', 'secondary-school');
  await page.locator('#field-region').fill('gor');
  await tap('region', 'gorenjska');
  await page.locator('#field-participants').fill('24');
  await save();

  const saved = (await records()).records;
  assert.deepEqual(saved.map((r) => r.type).sort(),
    ['assistance_case', 'on_call_event', 'pats_session', 'pats_session', 'prevention_workshop']);
  const individual = saved.find((r) => r.fields.format === 'individual');
  assert.equal(individual.fields.person, code);
  assert.deepEqual(saved.find((r) => r.type === 'assistance_case').fields.services, ['food', 'interpreting']);
  await page.locator('#toast').waitFor({ state: 'hidden' });  // "Saved" fades after 2.5 s
  await shot('home-portrait');
  await shot('home-landscape', landscape);
  await page.setViewportSize(portrait);

  step('none of the attributes reached the store\'s files');
  for (const file of [device, `${device}-wal`, `${device}.kiosk-pin`]) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file).toString('latin1').toLowerCase();
    for (const word of [person.given, person.family, person.birth, 'kovalenkova'])
      assert.ok(!bytes.includes(word.toLowerCase()), `${file} holds ${word}`);
  }

  // --- edit and delete -----------------------------------------------------
  step('edit a record, then delete one (asked once)');
  const workshop = saved.find((r) => r.type === 'prevention_workshop');
  await page.locator(`#today button[data-id="${workshop.id}"]`).click();
  await page.locator('#field-participants').fill('31');
  await page.locator('#save').click();
  await page.locator('button[data-type="pats_session"]').waitFor();
  assert.equal((await localApi('GET', `/api/records/${workshop.id}`)).body.fields.participants, 31);
  const call = saved.find((r) => r.type === 'on_call_event');
  await page.locator(`#today button[data-id="${call.id}"]`).click();
  await page.locator('#delete').click();
  await shot('delete-portrait');
  await page.locator('#delete-confirm').click();
  await page.locator('button[data-type="pats_session"]').waitFor();
  assert.equal((await localApi('GET', `/api/records/${call.id}`)).status, 404);

  step('the list, filtered by type');
  await page.locator('#all-records').click();
  await page.locator('#filter-type').selectOption('pats_session');
  await eventually('the filtered list', async () => (await page.locator('#list .records li').count()) === 2, 15);

  // --- sync, offline and back ----------------------------------------------
  step('everything reaches the server; the sync line says so');
  await eventually('the workshop in the tally', async () => (await tally('workshops-by-audience-region')).workshops === 1);
  await eventually('"All sent"', async () => /^All sent · \d\d:\d\d$/.test(await page.locator('#sync-line').textContent()));
  assert.equal((await tally('workshops-by-audience-region')).participants, 31);

  step('havend stops: a record made offline waits, and arrives when it is back');
  await stop(havend.child);
  await newRecord('prevention_workshop');
  await tap('audience', 'professionals');
  await page.locator('#field-region').fill('kor');
  await tap('region', 'koroska');
  await page.locator('#field-participants').fill('9');
  await save();
  await eventually('"1 waiting to send · no network since"', async () =>
    /^1 waiting to send · no network since \d\d:\d\d$/.test(await page.locator('#sync-line').textContent()));
  await shot('offline-portrait');
  havend = await start(args.havend, ['--db', central, '--listen', serverAddress]);
  await eventually('the offline workshop in the tally', async () => (await tally('workshops-by-audience-region')).workshops === 2, 90);
  await eventually('"All sent" again', async () => /^All sent · /.test(await page.locator('#sync-line').textContent()), 30);

  // --- lock --------------------------------------------------------------
  step('idle for five minutes: locked; a wrong PIN is refused, the right one unlocks');
  const idle = await browser.newContext({ viewport: landscape, locale: 'en-GB' });
  await idle.clock.install();
  const tablet = await idle.newPage();
  await tablet.goto(url);
  await tablet.locator('button[data-type="pats_session"]').waitFor();
  await tablet.clock.fastForward('05:00');
  await tablet.locator('#pin-entry').waitFor();
  assert.equal((await localApi('GET', '/api/records')).status, 423, 'records were readable while locked');
  await tablet.screenshot({ path: join(args.out, 'locked-landscape.png') });
  await tablet.locator('#pin-entry').fill('0000');
  await tablet.getByRole('button', { name: 'Unlock' }).click();
  await tablet.getByText('wrong PIN').waitFor();
  for (const d of '4711') await tablet.locator('.pinpad').getByRole('button', { name: d, exact: true }).click();
  await tablet.getByRole('button', { name: 'Unlock' }).click();
  await tablet.locator('button[data-type="pats_session"]').waitFor();
  await idle.close();

  step('Slovenian labels from the schema');
  await page.locator('button[data-type="pats_session"]').waitFor();  // unlocked in the other window too
  await page.locator('#language').click();
  await page.locator('#home-button').click();
  await page.locator('button[data-type="on_call_event"]', { hasText: 'Dežurni klic' }).waitFor();
  await shot('home-sl-portrait');
  await page.locator('#language').click();

  // --- what is not the page is refused -------------------------------------
  step('the local API refuses a request without the secret, from another Origin, to another Host');
  const count = (await records()).total;
  const body = JSON.stringify({ type: 'on_call_event', fields: { date: new Date().toLocaleDateString('sv'), caller: 'other', outcome: 'advice-only' } });
  const json = { 'Content-Type': 'application/json' };
  const port = kioskAddress.split(':')[1];
  const refused = [
    await request(kioskAddress, 'POST', '/api/records', json, body),
    await request(kioskAddress, 'POST', '/api/records', { ...own, Origin: 'https://evil.example' }, body),
    await request(kioskAddress, 'POST', '/api/records', { ...own, Host: `rebound.example:${port}` }, body),
    await request(kioskAddress, 'GET', '/api/records', { ...own, Origin: 'http://localhost:1' }),
  ];
  for (const r of refused) assert.equal(r.status, 403, r.text);
  assert.match(JSON.parse(refused[0].text).error, /X-Haven-Kiosk/);
  assert.equal((await records()).total, count);

  // --- revoked ---------------------------------------------------------------
  step('the device is revoked: its data is erased and the app says so');
  const deviceId = (await localApi('GET', '/api/status')).body.device_id;
  await stop(havend.child);
  execFileSync(args.havend, ['--db', central, 'revoke', deviceId], { encoding: 'utf8' });
  havend = await start(args.havend, ['--db', central, '--listen', serverAddress]);
  await page.locator('#wiped').waitFor({ timeout: 90_000 });
  assert.match(await page.locator('#wiped').textContent(), /revoked.*erased/);
  assert.ok(!existsSync(`${device}.kiosk-pin`), 'the PIN of an erased device was kept');
  assert.equal((await records()).total, 0);
  await shot('revoked-portrait');
  console.log('browser test: passed');
} catch (e) {
  console.error(`browser test FAILED: ${e.stack ?? e}`);
  await page?.screenshot({ path: join(args.out, 'failure.png') }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser?.close();
  finish();
}
