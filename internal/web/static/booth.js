// The booth form's behaviour: checks as the visitor types, a queue on the
// device that sends leads when the network allows, kiosk mode, and the
// service worker that keeps the form for offline use. Without this script
// the form still works: it posts to the server, which answers with a page.
import * as queue from './queue.js';
import {sender} from './sync.js';
import {check, mark, labelOf} from './checks.js';
import {kiosk} from './kiosk.js';
import {fill as solvePow} from './pow.js';

const $ = id => document.getElementById(id);
const form = $('lead');
if (form) start(form);

function el(tag, ...kids) {
  const e = document.createElement(tag);
  e.append(...kids);
  return e;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = b[6] & 15 | 64;
  b[8] = b[8] & 63 | 128;
  const h = [...b].map(x => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// deviceId names a kiosk tablet opened with ?kiosk=1 rather than a device
// link: a random id kept on the device, so its leads can be told apart.
function deviceId() {
  try {
    let id = localStorage.getItem('leadcap-device');
    if (!id) localStorage.setItem('leadcap-device', id = 'kiosk-' + uuid().slice(0, 8));
    return id;
  } catch {
    return '';
  }
}

// toBody turns the form into the JSON body of POST /api/v1/leads. Fields
// it does not know (such as the abuse defences' hidden inputs) are sent as
// they are, so the server sees what the form without JavaScript sends.
function toBody(form, d) {
  const b = {conference: d.conference, answers: {}, interests: [], consent: {contact: false, marketing: false}};
  const kinds = {};
  for (const w of form.querySelectorAll('[data-field^="answers."]')) kinds[w.dataset.field] = w.dataset.kind;
  for (const [k, v] of new FormData(form)) {
    if (k === 'interests') b.interests.push(v);
    else if (k in kinds) {
      const id = k.slice(8);
      if (v === '') continue;
      if (kinds[k] === 'multi') (b.answers[id] ||= []).push(v);
      else if (kinds[k] === 'number' && Number.isFinite(+v)) b.answers[id] = +v;
      else b.answers[id] = v;
    } else if (k === 'consent_contact' || k === 'consent_marketing') b.consent[k.slice(8)] = true;
    else if (k === 'consent_version') b.consent.version = +v;
    else if (k === 'kiosk' && v !== '1' && v !== '') b.device_token = v; // a signed device link
    else if (!['kiosk', 'lang', 'submission_id'].includes(k) && v !== '') b[k] = v;
  }
  return b;
}

// who names a queued lead for staff without showing all of it.
function who(b) {
  const [local = '', domain = ''] = (b.email || '').split('@');
  return `${b.first_name || ''} ${local.slice(0, 1)}•••@${domain}`.trim();
}

function start(form) {
  const msgs = JSON.parse($('msgs').textContent);
  const t = (k, p = {}) => (msgs[k] || k).replace(/\{(\w+)\}/g, (_, n) => p[n]);
  const d = form.dataset;
  const fields = [...form.querySelectorAll('[data-field]')];
  const plural = new Intl.PluralRules(d.lang);
  const device = d.device || (d.kiosk ? deviceId() : '');
  const send = sender(render);
  let bound = null; // the queued lead the form corrects, after the server refused it
  let offline = false; // the form is kept for offline use
  // The proof of work, when the conference asks for one, is solved while
  // the visitor types; each lead needs an answer of its own.
  const pow = () => solvePow(form).catch(() => null);
  let solved = pow();

  const show = (w, p) => mark(w, p && t(...p));

  form.addEventListener('focusout', e => {
    const w = e.target.closest('[data-field]');
    if (w && !w.contains(e.relatedTarget) && (e.target.value || !w.querySelector('.err').hidden)) show(w, check(w));
  });
  form.addEventListener('input', e => {
    const w = e.target.closest('[data-field]');
    if (w && !w.querySelector('.err').hidden) show(w, check(w));
  });

  form.addEventListener('submit', async e => {
    e.preventDefault();
    const bad = fields.filter(w => {
      const p = check(w);
      show(w, p);
      return p;
    });
    if (bad.length) return summarize(bad);
    summarize([]);
    const id = bound || uuid();
    await solved;
    const body = {...toBody(form, d), submission_id: id};
    if (d.kiosk) body.source = 'kiosk';
    if (device) body.device_id = device;
    try {
      await queue.put({id, body, created: Date.now(), state: 'pending', who: who(body)});
    } catch {
      // No IndexedDB here: let the browser post the form instead.
      form.elements.submission_id.value = id;
      return form.submit();
    }
    bound = null;
    solved = pow();
    await Promise.race([send.flush(), new Promise(ok => setTimeout(ok, 4000))]);
    const rec = await queue.get(id);
    if (rec && rec.state === 'invalid') {
      bound = id;
      return refused(rec.error);
    }
    thank();
  });

  // refused shows the server's problems with the lead beside its fields.
  function refused(err) {
    const bad = [], extra = [];
    for (const k of Object.keys(err.fields)) {
      const w = fields.find(w => w.dataset.field === k);
      if (w) {
        show(w, check(w, true));
        bad.push(w);
      } else extra.push(t(k === 'consent.version' ? 'err.consent_version' : 'err.other'));
    }
    if (!bad.length && !extra.length) extra.push(t('err.failed'));
    summarize(bad, extra);
  }

  function summarize(bad, extra = []) {
    const s = $('summary');
    s.replaceChildren();
    s.hidden = !bad.length && !extra.length;
    if (s.hidden) return;
    const ul = el('ul');
    for (const w of bad) {
      const a = el('a', `${labelOf(w)}: ${w.querySelector('.err').textContent}`);
      a.href = '#' + w.querySelector('input,select').id;
      ul.append(el('li', a));
    }
    for (const m of extra) ul.append(el('li', m));
    s.append(el('h2', t('errors.title')), ul);
    s.focus();
  }

  // clear empties every field the visitor fills in.
  function clear() {
    for (const i of form.elements) {
      if (i.type === 'checkbox' || i.type === 'radio') i.checked = false;
      else if (i.tagName === 'SELECT') i.selectedIndex = 0;
      else if (i.tagName === 'INPUT' && i.type !== 'hidden') i.value = '';
    }
    fields.forEach(w => mark(w, ''));
    summarize([]);
    bound = null;
  }

  function fill(b) {
    clear();
    for (const i of form.elements) {
      const k = i.name;
      let v;
      if (k === 'interests') v = b.interests;
      else if (k.startsWith('answers.')) v = b.answers[k.slice(8)];
      else if (k === 'consent_contact' || k === 'consent_marketing') v = b.consent[k.slice(8)] ? 'on' : '';
      else if (i.type !== 'hidden') v = b[k];
      if (v === undefined) continue;
      if (i.type === 'checkbox' || i.type === 'radio') i.checked = [].concat(v).map(String).includes(i.value);
      else i.value = v;
    }
  }

  function thank() {
    clear();
    form.hidden = true;
    $('done').hidden = false;
    $('done').focus();
    scrollTo(0, 0);
    if (kiosked) kiosked.thanked();
  }

  function again() {
    clear();
    $('done').hidden = true;
    form.hidden = false;
    scrollTo(0, 0);
  }

  const kiosked = d.kiosk && kiosk({thanksMs: +d.thanksMs, idleMs: +d.idleMs, reset: again});
  $('again')?.addEventListener('click', again);

  // render shows staff what waits on the device, and what needs them.
  async function render() {
    let list = [];
    try {
      list = await queue.all();
    } catch {}
    const waiting = list.filter(r => r.state === 'pending').length;
    const stuck = list.filter(r => r.state === 'invalid');
    const cat = plural.select(waiting);
    let text = waiting ? t(msgs['queue.' + cat] ? 'queue.' + cat : 'queue.other', {n: waiting}) : '';
    if (!navigator.onLine) text += ' ' + t('queue.offline');
    else if (!waiting && offline) text = t('queue.ready');
    $('sync-text').textContent = text.trim();
    $('sync').hidden = !text;
    $('sync').classList.toggle('waiting', waiting > 0 || !navigator.onLine);
    $('send-now').hidden = !waiting;
    const a = $('attention');
    a.hidden = !stuck.length;
    a.querySelector('summary').textContent = t('attention.title', {n: stuck.length});
    a.querySelector('ul').replaceChildren(...stuck.map(rec => {
      const open = el('button', t('attention.open')), del = el('button', t('attention.delete'));
      open.type = del.type = 'button';
      open.onclick = () => {
        fill(rec.body);
        bound = rec.id;
        $('done').hidden = true;
        form.hidden = false;
        refused(rec.error);
      };
      del.onclick = async () => {
        if (confirm(t('attention.confirm'))) await queue.remove(rec.id);
        render();
      };
      return el('li', el('span', rec.who), open, del);
    }));
  }

  $('send-now').addEventListener('click', () => {
    $('sync-text').textContent = t('queue.sending');
    send.now();
  });
  addEventListener('online', () => send.now());
  addEventListener('offline', render);
  document.addEventListener('visibilitychange', () => document.hidden || send.flush());
  setInterval(send.flush, 30000);
  send.flush();

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/c/sw.js', {scope: '/c/'})
      .then(() => navigator.serviceWorker.ready)
      .then(async () => {
        const pages = await caches.open('leadcap-pages');
        if (!(await pages.match(location.href, {ignoreVary: true}))) await pages.add(location.href);
        offline = true;
        render();
      })
      .catch(() => {});
  }
}
