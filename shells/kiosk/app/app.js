// Haven kiosk app: screens drawn from the schema that haven-kiosk describes.
// Every record, check, person code and sync goes through the local API
// (client-core); this script only draws and collects what a person taps.

const secretMeta = document.querySelector('meta[name="haven-secret"]');
const secret = secretMeta.content;
secretMeta.remove();

// The app's own words; field, type and code labels come from the schema.
const messages = {
  en: {
    language: 'Slovenščina', lock: 'Lock', new_record: 'New record', today: 'Today',
    this_week: 'Earlier this week', all_records: 'All records', no_records: 'No records yet.',
    save: 'Save', cancel: 'Cancel', delete: 'Delete', saved: 'Saved', deleted: 'Deleted',
    delete_confirm: 'Delete this record? This cannot be undone.', keep: 'Keep it',
    edit_title: 'Edit', required: 'required', search: 'Search', more: 'Show all',
    derive: 'From name and birth date…', person_title: 'Person code',
    person_note: 'Type what identifies the person. Only the code is kept: the name and birth date are never stored, and never leave this device.',
    given_name: 'Given name', family_name: 'Family name', birth_date: 'Birth date (YYYY-MM-DD, or YYYY-MM or YYYY)',
    nationality: 'Nationality', use_code: 'Use this code', card_note: 'Or type the code from the person’s card into the field.',
    all_sent: 'All sent', nothing_sent: 'Nothing to send yet', waiting: (n) => `${n} waiting to send`,
    no_network_since: (t) => `no network since ${t}`, sending: 'sending…', not_enrolled: 'Not set up yet',
    enroll_title: 'Set up this device', server: 'Server address',
    enroll_code: 'One-time code from your coordinator', pin: 'Staff PIN (4 to 12 digits)',
    pin_again: 'Staff PIN again', choose_pin: 'Choose the staff PIN for this device', pin_mismatch: 'The two PINs differ: type the same PIN twice.',
    enroll: 'Set up', enrolled: 'This device is set up. Tap a button to record a contact.',
    scan: 'Scan code', wiped_retired: 'This device was retired: everything it recorded reached the server, and its data was erased from it. Set it up again with a new code to keep recording.',
    wiped_revoked: 'This device was revoked (reported lost or stolen): the server refused it and its data was erased from it. Records it had not sent are lost. Set it up again with a new code.',
    locked: 'Locked', unlock: 'Unlock', unlock_note: 'Type the staff PIN to continue.', clear: 'Clear',
    filter_type: 'Type', from: 'From', to: 'To', any_type: 'All types', apply: 'Show', shown: (n, t) => `${n} of ${t} shown`,
    fix_first: 'Not saved: correct the marked fields first.', unreachable: 'The app cannot reach haven-kiosk on this device: is it still running? Nothing you typed is lost: try again.',
    sent_state: 'sent', pending_state: 'waiting to send', yes: 'Yes', no: 'No', minus: 'Less', plus: 'More',
  },
  sl: {
    language: 'English', lock: 'Zakleni', new_record: 'Nov zapis', today: 'Danes',
    this_week: 'Prej ta teden', all_records: 'Vsi zapisi', no_records: 'Še ni zapisov.',
    save: 'Shrani', cancel: 'Prekliči', delete: 'Izbriši', saved: 'Shranjeno', deleted: 'Izbrisano',
    delete_confirm: 'Izbrišem ta zapis? Tega ni mogoče razveljaviti.', keep: 'Obdrži',
    edit_title: 'Urejanje', required: 'obvezno', search: 'Iskanje', more: 'Pokaži vse',
    derive: 'Iz imena in datuma rojstva …', person_title: 'Šifra osebe',
    person_note: 'Vpišite podatke, ki osebo določajo. Ohrani se le šifra: ime in datum rojstva se nikoli ne shranita in nikoli ne zapustita te naprave.',
    given_name: 'Ime', family_name: 'Priimek', birth_date: 'Datum rojstva (LLLL-MM-DD ali LLLL-MM ali LLLL)',
    nationality: 'Državljanstvo', use_code: 'Uporabi to šifro', card_note: 'Ali v polje vpišite šifro s kartice osebe.',
    all_sent: 'Vse poslano', nothing_sent: 'Ničesar za pošiljanje', waiting: (n) => `${n} čaka na pošiljanje`,
    no_network_since: (t) => `brez omrežja od ${t}`, sending: 'pošiljam …', not_enrolled: 'Naprava še ni nastavljena',
    enroll_title: 'Nastavitev naprave', server: 'Naslov strežnika',
    enroll_code: 'Enkratna koda koordinatorja', pin: 'PIN osebja (4 do 12 števk)',
    pin_again: 'PIN osebja še enkrat', choose_pin: 'Izberite PIN osebja za to napravo', pin_mismatch: 'PIN-a se razlikujeta: dvakrat vpišite isti PIN.',
    enroll: 'Nastavi', enrolled: 'Naprava je nastavljena. Za vpis stika tapnite gumb.',
    scan: 'Skeniraj kodo', wiped_retired: 'Ta naprava je bila upokojena: vse zapisano je prispelo na strežnik, podatki na njej so izbrisani. Za nadaljnje delo jo nastavite z novo kodo.',
    wiped_revoked: 'Ta naprava je bila preklicana (prijavljena kot izgubljena ali ukradena): strežnik jo je zavrnil, podatki na njej so izbrisani. Neposlani zapisi so izgubljeni. Nastavite jo z novo kodo.',
    locked: 'Zaklenjeno', unlock: 'Odkleni', unlock_note: 'Za nadaljevanje vpišite PIN osebja.', clear: 'Počisti',
    filter_type: 'Vrsta', from: 'Od', to: 'Do', any_type: 'Vse vrste', apply: 'Prikaži', shown: (n, t) => `prikazanih ${n} od ${t}`,
    fix_first: 'Ni shranjeno: najprej popravite označena polja.', unreachable: 'Aplikacija ne doseže programa haven-kiosk: ali še teče? Nič vpisanega ni izgubljeno: poskusite znova.',
    sent_state: 'poslano', pending_state: 'čaka na pošiljanje', yes: 'Da', no: 'Ne', minus: 'Manj', plus: 'Več',
  },
};

const app = {
  lang: localStorage.getItem('haven-lang') === 'sl' ? 'sl' : 'en',
  schema: null,
  status: null,
  lastInput: Date.now(),
  screen: null,  // the function that draws the current screen again (language switch)
};

const t = (key, ...args) => {
  const m = messages[app.lang][key] ?? messages.en[key] ?? key;
  return typeof m === 'function' ? m(...args) : m;
};

// A label from the schema's labels (type.X, field.X, code.FIELD.CODE; every one resolved by
// the schema loader), else the key made readable.
function label(key, fallback) {
  const own = app.schema?.labels?.[app.lang]?.[key] ?? app.schema?.labels?.en?.[key];
  if (own) return own;
  return (fallback ?? key.split('.').pop()).replace(/[_-]/g, ' ').replace(/^./, (c) => c.toUpperCase());
}
const typeLabel = (type) => label(`type.${type.name ?? type}`, type.title);
const fieldLabel = (f) => label(`field.${f.key ?? f}`);
// A country as its name in the app's language (from the schema) and its ISO code.
function codeLabel(field, code) {
  const name = label(`code.${field.key}.${code}`, code);
  return field.kind === 'country' && name !== code ? `${name} (${code})` : name;
}

// --- the local API -------------------------------------------------------

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      cache: 'no-store',
      headers: { 'X-Haven-Kiosk': secret, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, data: { error: t('unreachable'), issues: [] } };
  }
  const data = await response.json().catch(() => ({ error: response.statusText, issues: [] }));
  if (response.status === 423) refreshStatus();  // locked: the lock (or choose-PIN) screen
  return { ok: response.ok, status: response.status, data };
}

// --- small DOM helpers ---------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}
const main = document.getElementById('main');
function show(draw) {
  app.screen = draw;
  document.getElementById('toast').hidden = true;
  main.replaceChildren();
  draw();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}
function toast(text) {
  const box = document.getElementById('toast');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
}
const pad = (n) => String(n).padStart(2, '0');
const isoDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const clock = (ms) => { const d = new Date(ms); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; };

// --- the bar: sync line, language, lock ----------------------------------

function syncLine(s) {
  if (!s) return ['', ''];
  if (!s.enrolled) return [t('not_enrolled'), ''];
  const pending = s.pending_records;
  const last = Math.max(s.last_sync_ms ?? 0, s.last_exchange_ms ?? 0);
  if (pending === 0) return [last ? `${t('all_sent')} · ${clock(last)}` : t('nothing_sent'), 'sent'];
  if (s.offline_since_ms) return [`${t('waiting', pending)} · ${t('no_network_since', clock(s.offline_since_ms))}`, 'waiting'];
  return [s.online ? `${t('waiting', pending)} · ${t('sending')}` : t('waiting', pending), 'waiting'];
}

function drawBar() {
  const [text, kind] = syncLine(app.status);
  const line = document.getElementById('sync-line');
  line.textContent = text;
  line.className = kind;
  document.getElementById('language').textContent = t('language');
  const lock = document.getElementById('lock-button');
  lock.textContent = t('lock');
  lock.hidden = !(app.status?.pin_set && !app.status?.locked);
  document.documentElement.lang = app.lang;
}

async function refreshStatus() {
  const r = await api('GET', '/api/status');
  if (!r.ok) return;
  const before = app.status;
  app.status = r.data;
  drawBar();
  if (!r.data.enrolled && before?.enrolled !== false) show(enrollScreen);
  else if (r.data.enrolled && !r.data.pin_set && !document.getElementById('choose-pin')) show(choosePinScreen);
  else if (r.data.locked && r.data.pin_set && !document.getElementById('pin-entry')) showLock();
  else if (r.data.enrolled && !r.data.locked && document.getElementById('pin-entry')) show(homeScreen);  // unlocked elsewhere
}

// --- enrollment ----------------------------------------------------------

function enrollScreen() {
  const s = app.status ?? {};
  const error = el('p', { class: 'error-box', role: 'alert', hidden: true });
  const server = el('input', { id: 'enroll-server', type: 'text', value: s.server ?? '', autocomplete: 'off' });
  const code = el('input', { id: 'enroll-code', type: 'text', autocomplete: 'off', autocapitalize: 'characters' });
  const pin = el('input', { id: 'enroll-pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password' });
  const again = el('input', { id: 'enroll-pin-again', type: 'password', inputmode: 'numeric', autocomplete: 'new-password' });
  const fail = (message) => { error.textContent = message; error.hidden = false; };
  const submit = el('button', { class: 'primary', type: 'submit', text: t('enroll') });
  const form = el('form', {
    class: 'centre',
    onsubmit: async (e) => {
      e.preventDefault();
      if (pin.value !== again.value) return fail(t('pin_mismatch'));
      submit.disabled = true;
      const r = await api('POST', '/api/enroll', { server: server.value.trim(), code: code.value.trim(), pin: pin.value });
      submit.disabled = false;
      pin.value = again.value = '';
      if (!r.ok) return fail(r.data.error);
      await loadSchema();
      await refreshStatus();
      show(homeScreen);
      toast(t('enrolled'));
    },
  },
  el('h1', { text: t('enroll_title') }),
  s.wiped ? el('p', { class: 'error-box', id: 'wiped', text: t(s.wiped.reason === 'retired' ? 'wiped_retired' : 'wiped_revoked') }) : null,
  el('label', { for: 'enroll-server', text: t('server') }), server,
  el('label', { for: 'enroll-code', text: t('enroll_code') }), code,
  'BarcodeDetector' in window && navigator.mediaDevices ? el('button', { type: 'button', class: 'quiet', text: t('scan'), onclick: () => scanCode(code) }) : null,
  el('label', { for: 'enroll-pin', text: t('pin') }), pin,
  el('label', { for: 'enroll-pin-again', text: t('pin_again') }), again,
  error,
  el('div', { class: 'actions' }, submit));
  main.append(form);
  (s.server ? code : server).focus();
}

// Reads a QR code with the camera, where the browser can (BarcodeDetector).
async function scanCode(into) {
  const video = el('video', { playsinline: true, class: 'camera' });
  const dialog = el('dialog', {}, video, el('div', { class: 'actions' }, el('button', { text: t('cancel'), onclick: () => dialog.close() })));
  document.body.append(dialog);
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch { dialog.remove(); return; }
  video.srcObject = stream;
  await video.play();
  dialog.showModal();
  const detector = new BarcodeDetector({ formats: ['qr_code'] });
  const look = async () => {
    if (!dialog.open) return;
    const found = await detector.detect(video).catch(() => []);
    if (found.length) { into.value = found[0].rawValue; dialog.close(); return; }
    setTimeout(look, 300);
  };
  dialog.addEventListener('close', () => { stream.getTracks().forEach((tr) => tr.stop()); dialog.remove(); });
  look();
}

// A device enrolled elsewhere (haven enroll) gets its staff PIN here, before anything else.
function choosePinScreen() {
  const error = el('p', { class: 'error-box', role: 'alert', hidden: true });
  const pin = el('input', { id: 'choose-pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password' });
  const again = el('input', { id: 'choose-pin-again', type: 'password', inputmode: 'numeric', autocomplete: 'new-password' });
  main.append(el('form', {
    class: 'centre',
    onsubmit: async (e) => {
      e.preventDefault();
      if (pin.value !== again.value) { error.textContent = t('pin_mismatch'); error.hidden = false; return; }
      const r = await api('POST', '/api/pin', { pin: pin.value });
      pin.value = again.value = '';
      if (!r.ok) { error.textContent = r.data.error; error.hidden = false; return; }
      app.status = r.data;
      drawBar();
      show(homeScreen);
    },
  },
  el('h1', { text: t('choose_pin') }),
  el('label', { for: 'choose-pin', text: t('pin') }), pin,
  el('label', { for: 'choose-pin-again', text: t('pin_again') }), again,
  error,
  el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', text: t('save') }))));
  pin.focus();
}

// --- lock ----------------------------------------------------------------

function showLock() {
  if (document.getElementById('pin-entry')) return;
  for (const d of document.querySelectorAll('dialog')) d.remove();
  show(lockScreen);
  drawBar();
}

function lockScreen() {
  const error = el('p', { class: 'error-box', role: 'alert', hidden: true });
  const pin = el('input', { id: 'pin-entry', type: 'password', inputmode: 'numeric', autocomplete: 'off' });
  const digit = (d) => el('button', { type: 'button', text: d, onclick: () => { pin.value += d; pin.focus(); } });
  const form = el('form', {
    class: 'centre',
    onsubmit: async (e) => {
      e.preventDefault();
      const r = await api('POST', '/api/unlock', { pin: pin.value });
      pin.value = '';
      if (!r.ok) { error.textContent = r.data.error; error.hidden = false; return; }
      app.status = r.data;
      app.lastInput = Date.now();
      drawBar();
      show(homeScreen);
    },
  },
  el('h1', { text: t('locked') }), el('p', { text: t('unlock_note') }), pin,
  el('div', { class: 'pinpad' }, ...'123456789'.split('').map(digit),
    el('button', { type: 'button', class: 'quiet', text: t('clear'), onclick: () => { pin.value = ''; } }), digit('0'),
    el('button', { type: 'submit', class: 'primary', text: t('unlock') })),
  error);
  main.append(form);
  pin.focus();
}

async function lockNow() {
  const r = await api('POST', '/api/lock');
  if (r.ok) app.status = r.data;
  showLock();
}

// Locks after the idle time the program sets, counted from the last touch or key.
function watchIdle() {
  for (const kind of ['pointerdown', 'keydown', 'input']) {
    document.addEventListener(kind, () => { app.lastInput = Date.now(); }, { capture: true });
  }
  setInterval(() => {
    const s = app.status;
    if (!s?.pin_set || s.locked || document.getElementById('pin-entry')) return;
    if (Date.now() - app.lastInput >= s.idle_lock_s * 1000) lockNow();
  }, 1000);
}

// --- home and lists ------------------------------------------------------

function recordDay(r) {
  const type = app.schema.types.find((x) => x.name === r.type);
  const f = type?.fields.find((x) => x.kind === 'date');
  return f ? r.fields[f.key] : undefined;
}

function summary(r) {
  const type = app.schema.types.find((x) => x.name === r.type);
  if (!type) return '';
  return type.fields.filter((f) => f.kind === 'code' && r.fields[f.key] !== undefined && r.fields[f.key] !== null)
    .slice(0, 3).map((f) => codeLabel(f, r.fields[f.key])).join(' · ');
}

function recordList(records) {
  if (!records.length) return el('p', { class: 'empty', text: t('no_records') });
  return el('ul', { class: 'records' }, records.map((r) => el('li', {},
    el('button', { type: 'button', 'data-id': r.id, onclick: () => openRecord(r.id) },
      el('span', {}, el('strong', { text: typeLabel(r.type) }), ' ', summary(r)),
      el('span', { class: 'state', text: `${recordDay(r) ?? ''} · ${r.pending ? t('pending_state') : t('sent_state')}` })))));
}

function homeScreen() {
  main.append(el('h1', { text: t('new_record') }),
    el('div', { class: 'types' }, app.schema.types.map((type) =>
      el('button', { type: 'button', 'data-type': type.name, onclick: () => show(() => formScreen(type)) }, typeLabel(type)))));
  const today = new Date();
  const monday = new Date(today);
  monday.setDate(today.getDate() - ((today.getDay() + 6) % 7));
  const todayBox = el('section', { id: 'today' }, el('h2', { text: t('today') }));
  const weekBox = el('section', { id: 'week' }, el('h2', { text: t('this_week') }));
  main.append(todayBox, weekBox,
    el('div', { class: 'actions' }, el('button', { type: 'button', class: 'quiet', id: 'all-records', text: t('all_records'), onclick: () => show(listScreen) })));
  api('GET', `/api/records?from=${isoDay(monday)}&to=${isoDay(today)}`).then((r) => {
    if (!r.ok) return;
    const day = isoDay(today);
    todayBox.append(recordList(r.data.records.filter((x) => recordDay(x) === day)));
    weekBox.append(recordList(r.data.records.filter((x) => recordDay(x) !== day)));
  });
}

function listScreen() {
  const typeSelect = el('select', { id: 'filter-type' }, el('option', { value: '', text: t('any_type') }),
    app.schema.types.map((x) => el('option', { value: x.name, text: typeLabel(x) })));
  const from = el('input', { id: 'filter-from', type: 'date' });
  const to = el('input', { id: 'filter-to', type: 'date' });
  const out = el('div', { id: 'list' });
  let asked = 0;
  const load = async () => {
    const mine = ++asked;
    const q = new URLSearchParams();
    if (typeSelect.value) q.set('type', typeSelect.value);
    if (from.value) q.set('from', from.value);
    if (to.value) q.set('to', to.value);
    const r = await api('GET', `/api/records?${q}`);
    if (mine !== asked) return;  // a later filter's answer is drawn instead
    if (!r.ok) { out.replaceChildren(el('p', { class: 'error-box', text: r.data.error })); return; }
    out.replaceChildren(el('p', { class: 'note', text: t('shown', r.data.records.length, r.data.total) }), recordList(r.data.records));
  };
  for (const input of [typeSelect, from, to]) input.addEventListener('change', load);
  main.append(el('h1', { text: t('all_records') }),
    el('div', { class: 'filters' },
      el('label', {}, t('filter_type'), typeSelect), el('label', {}, t('from'), from), el('label', {}, t('to'), to)),
    out);
  load();
}

async function openRecord(id) {
  const r = await api('GET', `/api/records/${id}`);
  if (!r.ok) { toast(r.data.error); return; }
  const type = app.schema.types.find((x) => x.name === r.data.type);
  if (type) show(() => formScreen(type, r.data));
}

// --- forms ---------------------------------------------------------------

// One form for a new or an existing record; values stay in `values` until saved.
function formScreen(type, existing) {
  const values = {};
  const today = isoDay(new Date());
  for (const f of type.fields) {
    if (existing) values[f.key] = existing.fields[f.key] ?? null;
    else if (f.kind === 'date' && f.required) values[f.key] = today;
    else if (f.default !== null) values[f.key] = f.kind === 'integer' ? Number(f.default) : f.default;
    else values[f.key] = f.kind === 'set' ? [] : null;
  }
  const touched = new Set(existing ? type.fields.map((f) => f.key) : Object.keys(values).filter((k) => values[k] !== null && !(Array.isArray(values[k]) && !values[k].length)));
  const boxes = {};
  const recordIssues = el('div', { class: 'record-issues', role: 'alert' });
  let issues = [];
  let showAll = false;

  const payload = () => {
    const fields = {};
    for (const [k, v] of Object.entries(values)) if (v !== null && v !== '' && !(Array.isArray(v) && !v.length)) fields[k] = v;
    return { type: type.name, fields };
  };
  const drawIssues = () => {
    for (const [key, box] of Object.entries(boxes)) {
      const mine = issues.filter((i) => i.field === key && (showAll || touched.has(key)));
      box.classList.toggle('bad', mine.length > 0);
      box.querySelector('.issue')?.remove();
      if (mine.length) box.append(el('p', { class: 'issue', text: mine.map((i) => i.message).join('; ') }));
    }
    const general = issues.filter((i) => !boxes[i.field] && showAll);
    recordIssues.textContent = general.map((i) => (i.field ? `${i.field}: ` : '') + i.message).join('\n');
  };
  let checking = 0;
  const check = async () => {
    const mine = ++checking;
    const r = await api('POST', '/api/check', payload());
    if (mine !== checking || !r.ok) return;
    issues = r.data.issues;
    drawIssues();
  };
  const changed = (key, v) => { values[key] = v; touched.add(key); check(); };

  const form = el('form', { id: 'record-form', 'data-type': type.name, onsubmit: (e) => e.preventDefault() });
  main.append(el('h1', { text: existing ? `${t('edit_title')}: ${typeLabel(type)}` : typeLabel(type) }), recordIssues, form);
  for (const f of type.fields) {
    const box = fieldBox(f, values, changed);
    box.dataset.field = f.key;
    boxes[f.key] = box;
    form.append(box);
  }

  const save = el('button', {
    type: 'button', class: 'primary', id: 'save', text: t('save'),
    onclick: async () => {
      save.disabled = true;
      const body = payload();
      const r = existing ? await api('PUT', `/api/records/${existing.id}`, body) : await api('POST', '/api/records', body);
      save.disabled = false;
      if (!r.ok) {
        showAll = true;
        issues = r.data.issues?.length ? r.data.issues : [{ field: '', message: r.data.error }];
        if (!r.data.issues?.length) recordIssues.textContent = r.data.error;
        else { drawIssues(); recordIssues.textContent = `${t('fix_first')}\n${recordIssues.textContent}`.trim(); }
        main.querySelector('.bad button, .bad input')?.focus();
        return;
      }
      show(homeScreen);
      toast(t('saved'));
      refreshStatus();
    },
  });
  const actions = el('div', { class: 'actions' }, save,
    el('button', { type: 'button', class: 'quiet', text: t('cancel'), onclick: () => show(homeScreen) }),
    el('span', { class: 'spacer' }));
  if (existing) actions.append(el('button', { type: 'button', class: 'danger', id: 'delete', text: t('delete'), onclick: () => confirmDelete(existing) }));
  main.append(actions);
  check();
}

function required(f) {
  return f.required ? el('span', { class: 'required-mark', title: t('required'), 'aria-label': t('required'), text: '*' }) : null;
}

// The input for one field, by its kind; `changed(key, value)` reports a new value.
function fieldBox(f, values, changed) {
  const id = `field-${f.key}`;
  switch (f.kind) {
    case 'code':
    case 'country':
    case 'boolean': {
      const box = el('fieldset', { class: 'field' }, el('legend', {}, fieldLabel(f), required(f)));
      const codes = f.kind === 'boolean' ? ['true', 'false'] : f.codes;
      const name = (c) => (f.kind === 'boolean' ? t(c === 'true' ? 'yes' : 'no') : codeLabel(f, c));
      const current = () => (f.kind === 'boolean' && values[f.key] !== null ? String(values[f.key]) : values[f.key]);
      const toggles = el('div', { class: 'toggles', role: 'group' });
      const draw = (list) => {
        toggles.replaceChildren(...list.map((c) => el('button', {
          type: 'button', 'data-code': c, 'aria-pressed': String(current() === c), text: name(c),
          onclick: () => {
            const next = current() === c ? null : c;
            changed(f.key, f.kind === 'boolean' && next !== null ? next === 'true' : next);
            for (const b of toggles.children) b.setAttribute('aria-pressed', String(b.dataset.code === next));
          },
        })));
      };
      if (codes.length <= 8) {
        draw(codes);
        box.append(toggles);
        return box;
      }
      // A long list: searchable, the most used here first, then by name.
      const usage = f.usage ?? {};
      const ordered = [...codes].sort((a, b) => (usage[b] ?? 0) - (usage[a] ?? 0) || name(a).localeCompare(name(b), app.lang));
      const search = el('input', { type: 'search', id, placeholder: t('search'), autocomplete: 'off', 'aria-label': `${fieldLabel(f)}: ${t('search')}` });
      const filter = () => {
        const q = search.value.trim().toLowerCase();
        const hits = ordered.filter((c) => !q || c.toLowerCase() === q || name(c).toLowerCase().includes(q));
        const picked = current();
        const top = hits.slice(0, 12);
        if (picked && !top.includes(picked) && (!q || hits.includes(picked))) top.unshift(picked);
        draw(top);
      };
      search.addEventListener('input', filter);
      filter();
      box.classList.add('searchable');
      box.append(search, toggles);
      return box;
    }
    case 'set': {
      const chosen = new Set(values[f.key] ?? []);
      return el('fieldset', { class: 'field' }, el('legend', {}, fieldLabel(f), required(f)),
        el('div', { class: 'checks' }, f.codes.map((c) => el('label', {},
          el('input', {
            type: 'checkbox', value: c, checked: chosen.has(c),
            onchange: (e) => { if (e.target.checked) chosen.add(c); else chosen.delete(c); changed(f.key, f.codes.filter((x) => chosen.has(x))); },
          }), codeLabel(f, c)))));
    }
    case 'date': {
      const input = el('input', { type: 'date', id, value: values[f.key] ?? '', max: f.not_future ? isoDay(new Date()) : undefined, onchange: (e) => changed(f.key, e.target.value || null) });
      return el('div', { class: 'field' }, el('label', { class: 'name', for: id }, fieldLabel(f), required(f)), input);
    }
    case 'integer': {
      const input = el('input', { type: 'number', id, inputmode: 'numeric', value: values[f.key] ?? '', min: f.min ?? undefined, max: f.max ?? undefined });
      const set = (n) => { input.value = n === null ? '' : n; changed(f.key, n); };
      input.addEventListener('input', () => set(input.value === '' ? null : Number(input.value)));
      const step = (d) => () => set(Math.max(f.min ?? -Infinity, Math.min(f.max ?? Infinity, (values[f.key] ?? (d > 0 ? (f.min ?? 0) - 1 : (f.min ?? 0) + 1)) + d)));
      return el('div', { class: 'field' }, el('label', { class: 'name', for: id }, fieldLabel(f), required(f)),
        el('div', { class: 'stepper' },
          el('button', { type: 'button', 'aria-label': `${fieldLabel(f)}: ${t('minus')}`, text: '−', onclick: step(-1) }), input,
          el('button', { type: 'button', 'aria-label': `${fieldLabel(f)}: ${t('plus')}`, text: '+', onclick: step(1) })));
    }
    case 'pseudonym': {
      const input = el('input', { type: 'text', id, value: values[f.key] ?? '', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
        oninput: (e) => changed(f.key, e.target.value.trim() || null) });
      return el('div', { class: 'field' }, el('label', { class: 'name', for: id }, fieldLabel(f), required(f)),
        el('div', { class: 'person' }, input,
          el('button', { type: 'button', class: 'quiet', id: `derive-${f.key}`, text: t('derive'),
            onclick: () => personDialog((code) => { input.value = code; changed(f.key, code); }) })),
        el('p', { class: 'note', text: t('card_note') }));
    }
    default: {
      const input = el('input', { type: 'text', id, value: values[f.key] ?? '', oninput: (e) => changed(f.key, e.target.value || null) });
      return el('div', { class: 'field' }, el('label', { class: 'name', for: id }, fieldLabel(f), required(f)), input);
    }
  }
}

// Asks for what identifies a person and has the core derive the code; the
// attributes live only in this dialog's inputs, cleared and removed on close.
function personDialog(use) {
  const input = (id, type = 'text') => el('input', { id, type, autocomplete: 'off', spellcheck: 'false' });
  const given = input('person-given');
  const family = input('person-family');
  const birth = input('person-birth');
  const nationality = input('person-nationality');
  nationality.setAttribute('maxlength', '2');
  nationality.setAttribute('autocapitalize', 'characters');
  const error = el('p', { class: 'error-box', role: 'alert', hidden: true });
  const dialog = el('dialog', { id: 'person-dialog' });
  const close = () => {
    for (const i of [given, family, birth, nationality]) i.value = '';
    dialog.close();
    dialog.remove();
  };
  dialog.append(el('form', {
    method: 'dialog',
    onsubmit: async (e) => {
      e.preventDefault();
      const r = await api('POST', '/api/person-code', {
        given_name: given.value, family_name: family.value, birth_date: birth.value.trim(), nationality: nationality.value.trim().toUpperCase(),
      });
      if (!r.ok) { error.textContent = r.data.error; error.hidden = false; return; }
      close();
      use(r.data.code);
    },
  },
  el('h2', { text: t('person_title') }), el('p', { class: 'note', text: t('person_note') }),
  el('label', { for: 'person-given', text: t('given_name') }), given,
  el('label', { for: 'person-family', text: t('family_name') }), family,
  el('label', { for: 'person-birth', text: t('birth_date') }), birth,
  el('label', { for: 'person-nationality', text: `${t('nationality')} (SI, UA, XX …)` }), nationality,
  error,
  el('div', { class: 'actions' },
    el('button', { type: 'submit', class: 'primary', id: 'person-use', text: t('use_code') }),
    el('button', { type: 'button', class: 'quiet', text: t('cancel'), onclick: close }))));
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
  given.focus();
}

function confirmDelete(record) {
  const dialog = el('dialog', { id: 'delete-dialog' });
  const close = () => { dialog.close(); dialog.remove(); };
  dialog.append(el('p', { text: t('delete_confirm') }),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'danger', id: 'delete-confirm', text: t('delete'),
        onclick: async () => {
          const r = await api('DELETE', `/api/records/${record.id}`);
          close();
          if (!r.ok) { toast(r.data.error); return; }
          show(homeScreen);
          toast(t('deleted'));
          refreshStatus();
        } }),
      el('button', { type: 'button', class: 'quiet', text: t('keep'), onclick: close })));
  document.body.append(dialog);
  dialog.showModal();
}

// --- start -----------------------------------------------------------------

async function loadSchema() {
  const r = await api('GET', '/api/schema');
  if (r.ok) app.schema = r.data;
}

async function start() {
  document.getElementById('language').addEventListener('click', () => {
    app.lang = app.lang === 'en' ? 'sl' : 'en';
    localStorage.setItem('haven-lang', app.lang);
    drawBar();
    if (app.screen && !document.querySelector('dialog[open]')) show(app.screen);
  });
  document.getElementById('lock-button').addEventListener('click', lockNow);
  document.getElementById('home-button').addEventListener('click', () => {
    if (app.status?.enrolled && !app.status.locked) show(homeScreen);
  });
  await loadSchema();
  const r = await api('GET', '/api/status');
  if (r.ok) app.status = r.data;
  drawBar();
  if (!app.status?.enrolled) show(enrollScreen);
  else if (!app.status.pin_set) show(choosePinScreen);
  else if (app.status.locked) showLock();
  else show(homeScreen);
  watchIdle();
  setInterval(refreshStatus, 3000);
}

start();
