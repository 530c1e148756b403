// SPDX-License-Identifier: Apache-2.0
/*
 * kiosk.js - fills the kiosk page from the daemon's event stream (GET /events).
 *
 * Rules this file keeps:
 *  - Everything from a card is set with textContent, never as markup (the
 *    server's CSP enforces Trusted Types, so markup from strings would throw).
 *  - The server sends the status once a second; three seconds with no
 *    message at all means the stream is gone: the page says "disconnected"
 *    and opens a new stream every couple of seconds until one answers (the
 *    daemon may be restarting).
 *  - A verdict shows until idle_ms (from the status) passes or the next
 *    verdict replaces it; but each shows at least min_show_ms (the status'
 *    kiosk.min_show_ms, as the lights do): in a burst of scans the later
 *    verdicts wait their turn, so the officer sees every one.
 */
'use strict';

(function kiosk() {
  const SILENCE_MS = 3000; // no message this long: disconnected
  const RETRY_MS = 2000; // while disconnected, a fresh stream this often
  const HEADLINES = {
    valid: ['VALID', 'বৈধ'],
    invalid: ['INVALID', 'অবৈধ'],
    review: ['REVIEW', 'যাচাই করুন'],
  };

  const el = (id) => document.getElementById(id);
  const setText = (id, value) => {
    el(id).textContent = value === undefined || value === null ? '' : String(value);
  };
  const wallMs = () => performance.timeOrigin + performance.now();

  let idleMs = 5000;
  let idleTimer = 0;
  let minShowMs = 1000;
  const QUEUE_MAX = 64; // more waiting than this: the oldest waiting is dropped
  const waiting = []; // verdicts of a burst, in order, each [event, receivedMs]
  let shownAt = -Infinity; // performance.now() when the current verdict appeared
  let turnTimer = 0;
  let source = null;
  let lastMessage = performance.now();
  let lastConnect = 0;

  /*
   * When something happened, for the officer, in the desk's own time zone:
   * "today 19:38", "yesterday 19:38" or "3 Dec 2026 19:38", with the same in
   * Bengali.  A bare time of day would make a card used days ago look like
   * one used minutes ago.  nowMs is a parameter so a test can fix "today".
   */
  const BN_DATE = new Intl.DateTimeFormat('bn-BD', { day: 'numeric', month: 'long', year: 'numeric' });
  const EN_DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  const BN_TIME = new Intl.DateTimeFormat('bn-BD', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const EN_TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  function when(us, nowMs) {
    const d = new Date(us / 1000);
    const day = (t) => new Date(t.getFullYear(), t.getMonth(), t.getDate()).getTime();
    const today = day(new Date(nowMs));
    // Calendar days apart (a DST day is 23 or 25 h long: round).
    const days = Math.round((today - day(d)) / 86400000);
    const en = EN_TIME.format(d);
    const bn = BN_TIME.format(d);
    if (days === 0) return { en: `today ${en}`, bn: `আজ ${bn}` };
    if (days === 1) return { en: `yesterday ${en}`, bn: `গতকাল ${bn}` };
    return { en: `${EN_DATE.format(d)} ${en}`, bn: `${BN_DATE.format(d)} ${bn}` };
  }

  // What a test or benchmark may read: per verdict, when the daemon judged it,
  // when the page received it and when it was on screen (the next frame); the
  // date wording.
  const timings = [];
  // For the browser test: the timings, the date wording, and render(), which shows a
  // verdict event as the stream carries it, at once (each reason's screen is measured).
  window.qrdeskKiosk = Object.freeze({ timings, when, render: (ev) => showVerdict(ev, wallMs()) });

  function age(seconds) {
    if (seconds < 0) return 'in the future';
    if (seconds < 90) return `${seconds} s`;
    if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
    if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
    return `${Math.round(seconds / 86400)} days`;
  }

  function clock(us) {
    return new Date(us / 1000).toLocaleTimeString('en-GB');
  }

  /*
   * Fit the shown screen to the display.  The layout is drawn for 1280x800;
   * other displays (1024x600) get it scaled (CSS zoom), and a screen whose
   * content is taller or wider than the display (a long policy message, a
   * 64-character name) is scaled down further until it ends inside it: the
   * body clips (overflow: hidden), so anything outside would be lost.
   */
  const DESIGN_W = 1280;
  const DESIGN_H = 800;
  function contentEnd(screen) {
    let bottom = 0;
    let right = 0;
    for (const e of screen.querySelectorAll('*')) {
      if (e.getClientRects().length === 0) continue;
      const r = e.getBoundingClientRect();
      bottom = Math.max(bottom, r.bottom);
      right = Math.max(right, r.right);
    }
    return { bottom, right };
  }
  function fit() {
    const root = document.documentElement;
    const screen = el('verdict').hidden ? el('idle') : el('verdict');
    let zoom = Math.min(innerWidth / DESIGN_W, innerHeight / DESIGN_H);
    root.style.zoom = String(zoom);
    // Text rewraps at the new size, so one step may not be enough: three at most.
    for (let i = 0; i < 3; i += 1) {
      const end = contentEnd(screen);
      const over = Math.max(end.bottom / innerHeight, end.right / innerWidth);
      if (over <= 1) break;
      zoom = zoom / over * 0.98;
      root.style.zoom = String(zoom);
    }
    document.body.dataset.zoom = zoom.toFixed(3);
  }
  window.addEventListener('resize', fit);

  /* --- idle screen ------------------------------------------------------------------ */

  function showIdle() {
    clearTimeout(idleTimer);
    idleTimer = 0;
    document.body.dataset.state = 'idle';
    el('verdict').hidden = true;
    el('idle').hidden = false;
    fit();
  }

  function trustLine(doc) {
    if (!doc) return 'not installed · নেই';
    let line = `v${doc.version} · signed ${age(doc.age_seconds)} ago`;
    if (doc.expired) line += ' · EXPIRED · মেয়াদোত্তীর্ণ';
    return line;
  }

  // The last sync: what it did and when; "not set up" without a [sync] url.
  function syncLine(sync) {
    if (!sync || !sync.enabled) return 'not set up · চালু হয়নি';
    if (!sync.last_result || !Number.isInteger(sync.age_seconds)) {
      return sync.state === 'running' ? 'running · চলছে' : 'waiting · অপেক্ষায়';
    }
    let line = `${sync.last_result} · ${age(sync.age_seconds)} ago`;
    if (sync.last && sync.last.status !== 'ok') line += ` · ${sync.last.status}`;
    return line;
  }

  function dateTime(seconds) {
    return new Date(seconds * 1000).toLocaleString('en-GB', { timeZone: 'UTC' }) + ' UTC';
  }

  function warn(list, en, bn) {
    const p = document.createElement('p');
    p.textContent = `${en} · ${bn}`;
    list.push(p);
  }

  function onStatus(st) {
    if (!st || typeof st !== 'object') return;
    setText('desk-id', st.desk);
    if (st.kiosk && Number.isInteger(st.kiosk.idle_ms) && st.kiosk.idle_ms > 0) {
      idleMs = st.kiosk.idle_ms;
    }
    if (st.kiosk && Number.isInteger(st.kiosk.min_show_ms) && st.kiosk.min_show_ms >= 0) {
      minShowMs = st.kiosk.min_show_ms;
    }
    const trust = st.trust || {};
    setText('trust-keyset', trustLine(trust.keyset));
    setText('trust-revocations', trustLine(trust.revocations));
    setText('trust-policy', trustLine(trust.policy));
    const sync = st.sync;
    setText('trust-sync', syncLine(sync));

    const warnings = [];
    if (!trust.keyset) {
      warn(warnings, 'Not provisioned: every card will be refused',
        'ডেস্ক প্রস্তুত নয়: সব কার্ড বাতিল হবে');
    }
    if (trust.clock_suspect) {
      warn(warnings, 'Clock is wrong: verdicts will be amber',
        'ঘড়ির সময় ভুল: ফলাফল হলুদ দেখাবে');
    }
    if ((trust.keyset && trust.keyset.expired) || (trust.revocations && trust.revocations.expired)) {
      warn(warnings, 'Trust data out of date: verdicts will be amber',
        'যাচাইয়ের তথ্য পুরনো: ফলাফল হলুদ দেখাবে');
    }
    if (Number.isInteger(trust.stale_since)) {
      // The freeze: no fresh signed timestamp; amber once the configured grace is over.
      const since = dateTime(trust.stale_since);
      if (trust.stale_amber) {
        warn(warnings, `Trust data stale since ${since}: verdicts will be amber`,
          `যাচাইয়ের তথ্য ${since} থেকে পুরনো: ফলাফল হলুদ দেখাবে`);
      } else {
        warn(warnings, `Trust data stale since ${since}`,
          `যাচাইয়ের তথ্য ${since} থেকে পুরনো`);
      }
    }
    if (st.sync && st.sync.enabled && st.sync.consecutive_failures > 0 && st.sync.last) {
      warn(warnings, `Sync failing (${st.sync.last.status}): the desk keeps its trust data`,
        'হালনাগাদ ব্যর্থ: আগের তথ্য রাখা হয়েছে');
    }
    if (st.indicators && !st.indicators.healthy) {
      warn(warnings, 'Lights and buzzer not working', 'বাতি ও বাজার কাজ করছে না');
    }
    el('warnings').replaceChildren(...warnings);

    // The last USB stick event (docs/usb-bundle.md): reading / applied / rejected.
    const usb = st.usb;
    const usbLine = el('usb');
    usbLine.hidden = !usb || typeof usb.headline !== 'string';
    if (!usbLine.hidden) {
      usbLine.textContent = `USB · ইউএসবি: ${usb.stage === 'reading' ? 'পড়া হচ্ছে · ' : ''}${usb.headline}`;
      usbLine.className = `usb usb-${String(usb.stage).replace(/[^a-z]/g, '')}`;
    }
    if (el('verdict').hidden) fit(); // the idle screen's lines may have grown
  }

  /* --- verdict screen --------------------------------------------------------------- */

  // The checklist's words for a document's state and the field that failed (docs/binding.md).
  const CHECK_STATES = {
    passed: ['checked', 'মিলেছে'],
    missing: ['not scanned', 'স্ক্যান হয়নি'],
    unchecked: ['not checked', 'যাচাই হয়নি'],
    not_required: ['not required', 'প্রয়োজন নেই'],
  };
  const CHECK_FIELDS = {
    passport_no: ['passport number', 'পাসপোর্ট নম্বর'],
    name: ['name', 'নাম'],
    birth_date: ['birth date', 'জন্মতারিখ'],
    sex: ['sex', 'লিঙ্গ'],
    nationality: ['nationality', 'জাতীয়তা'],
    expiry_date: ['expiry date', 'মেয়াদ'],
    final_arrival: ['destination', 'গন্তব্য'],
  };
  function checkWords(doc) {
    if (doc.state !== 'failed') return CHECK_STATES[doc.state] || [String(doc.state), ''];
    const field = String(doc.field || '');
    const words = CHECK_FIELDS[field];
    // A check digit or layout field (the MRZ's, the boarding pass's) is named as the parser does.
    return words ? [`${words[0]} differs`, `${words[1]} মেলেনি`] : [field, 'ত্রুটি'];
  }

  // Each document ticked or crossed; hidden for a card judged alone ([binding] require = card).
  function showChecklist(binding) {
    const docs = binding && Array.isArray(binding.documents) ? binding.documents : null;
    el('checklist').hidden = !docs;
    if (!docs) return;
    for (const name of ['card', 'passport', 'boarding']) {
      const item = el(`check-${name}`);
      const doc = docs.find((d) => d && d.document === name) || { state: 'missing' };
      item.dataset.state = String(doc.state);
      const words = checkWords(doc);
      item.querySelector('.why').textContent = words[1] ? `${words[0]} · ${words[1]}` : words[0];
    }
  }

  function showVerdict(ev, receivedMs) {
    const kind = Object.prototype.hasOwnProperty.call(HEADLINES, ev.verdict) ? ev.verdict : 'invalid';
    document.body.dataset.state = kind;
    document.body.dataset.seq = String(ev.seq);
    setText('headline-en', HEADLINES[kind][0]);
    setText('headline-bn', HEADLINES[kind][1]);

    // Green needs no explanation; red and amber always say why, in both languages.
    el('reason').hidden = kind === 'valid';
    setText('reason-en', ev.reason_en);
    setText('reason-bn', ev.reason_bn);
    const first = ev.first_use;
    el('first-use').hidden = !first;
    const firstWhen = first ? when(first.time_us, wallMs()) : null;
    setText('first-use', first
      ? `First used ${firstWhen.en} at desk ${first.desk} · প্রথম ব্যবহার ${firstWhen.bn}, ডেস্ক ${first.desk}`
      : '');

    const card = ev.card;
    el('card').hidden = !card;
    el('no-card').hidden = Boolean(card);
    if (card) {
      setText('card-name', card.name);
      setText('card-passport', card.passport);
      const dest = card.destination || {};
      setText('card-destination-en', dest.en ? dest.en : dest.code);
      setText('card-destination-bn', dest.bn || '');
      const cat = card.category || {};
      setText('card-category-en', cat.en ? `${cat.code} · ${cat.en}` : cat.code);
      setText('card-category-bn', cat.bn || '');
      setText('card-clearance', card.clearance_no);
    }
    showChecklist(ev.binding);
    setText('verdict-code', ev.reason);
    setText('verdict-seq', ev.seq);
    setText('verdict-time', clock(ev.time_us));

    el('idle').hidden = true;
    el('verdict').hidden = false;
    fit();
    clearTimeout(idleTimer);
    idleTimer = setTimeout(showIdle, idleMs);

    const entry = { seq: ev.seq, judgedMs: ev.time_us / 1000, receivedMs, shownMs: 0 };
    timings.push(entry);
    if (timings.length > 1000) timings.shift();
    requestAnimationFrame(() => {
      entry.shownMs = wallMs();
    });
    shownAt = performance.now();
    document.body.dataset.waiting = String(waiting.length);
  }

  /* A verdict now if the screen has shown its current one min_show_ms, else in turn. */
  function nextTurn() {
    turnTimer = 0;
    const next = waiting.shift();
    if (next) showVerdict(next[0], next[1]);
    if (waiting.length) turnTimer = setTimeout(nextTurn, minShowMs);
  }

  function onVerdict(ev, receivedMs) {
    const onScreen = !el('verdict').hidden;
    const shown = performance.now() - shownAt;
    if (!onScreen || (waiting.length === 0 && shown >= minShowMs)) {
      showVerdict(ev, receivedMs);
      return;
    }
    if (waiting.length >= QUEUE_MAX) waiting.shift();
    waiting.push([ev, receivedMs]);
    document.body.dataset.waiting = String(waiting.length);
    if (!turnTimer) turnTimer = setTimeout(nextTurn, Math.max(0, minShowMs - shown));
  }

  /* --- the stream ------------------------------------------------------------------- */

  function setConnected(up) {
    document.body.dataset.connection = up ? 'up' : 'down';
    el('disconnected').hidden = up;
  }

  function alive() {
    lastMessage = performance.now();
    if (document.body.dataset.connection !== 'up') setConnected(true);
  }

  function parse(data) {
    try {
      return JSON.parse(data);
    } catch (e) {
      return null;
    }
  }

  function connect() {
    if (source) source.close();
    lastConnect = performance.now();
    source = new EventSource('/events');
    source.addEventListener('status', (e) => {
      alive();
      onStatus(parse(e.data));
    });
    source.addEventListener('verdict', (e) => {
      const received = wallMs();
      alive();
      const ev = parse(e.data);
      if (ev) onVerdict(ev, received);
    });
  }

  /* --- reload keys ------------------------------------------------------------------ */

  // F5, Ctrl+R and their Shift/Ctrl variants: a reload while qrdeskd is not listening
  // would put the browser's own error page on the screen, which no script of the page
  // can leave (a service worker could serve the page offline, but trusted-types 'none'
  // bars registering one).  So the page takes these keys and reloads only once /alive
  // answers; until then its banner says what is wrong.  data-reload-held counts the
  // reloads held back (the browser test waits for it).
  function isReloadKey(e) {
    return e.key === 'F5' || e.key === 'BrowserRefresh' ||
      ((e.ctrlKey || e.metaKey) && (e.key === 'r' || e.key === 'R'));
  }
  function reloadHeld() {
    document.body.dataset.reloadHeld = String(Number(document.body.dataset.reloadHeld || 0) + 1);
    setConnected(false);
  }
  let reloadAsked = false; // one /alive question at a time (a key held down repeats)
  window.addEventListener('keydown', (e) => {
    if (!isReloadKey(e)) return;
    e.preventDefault();
    if (reloadAsked || e.repeat) return;
    reloadAsked = true;
    fetch('/alive', { cache: 'no-store' }).then((r) => {
      reloadAsked = false;
      if (r.ok) location.reload();
      else reloadHeld();
    }, () => {
      reloadAsked = false;
      reloadHeld();
    });
  });

  // The watchdog: the browser's own reconnection gives up on an HTTP error
  // and may back off for long after a refused connection; ours never does.
  setInterval(() => {
    const now = performance.now();
    if (now - lastMessage <= SILENCE_MS) return;
    setConnected(false);
    if (now - lastConnect >= RETRY_MS) connect();
  }, 250);

  showIdle();
  connect();
}());
