// Sending the queue: oldest first, one at a time; a lead leaves the queue
// only after a 2xx. Network errors, 5xx and 429 are retried with growing
// delays; a refusal that retrying cannot fix marks the lead 'invalid' for
// staff to see. It is never dropped.
import * as queue from './queue.js';

const REFUSED = new Set([400, 404, 409, 410, 413, 415, 422]);
const MAX_DELAY = 30000;

// sender returns {flush, now}: flush sends what waits (a flush while one
// runs makes it go round once more); now does the same at once, forgetting
// the back-off. changed is called whenever the queue may have changed.
export function sender(changed) {
  let running = null, again = false, timer = 0, delay = 0;

  async function send(rec) {
    let res;
    try {
      res = await fetch('/api/v1/leads', {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(rec.body),
        cache: 'no-store', signal: AbortSignal.timeout(20000),
      });
    } catch {
      return 0;
    }
    if (res.ok) {
      await queue.remove(rec.id);
      return -1;
    }
    if (REFUSED.has(res.status)) {
      let e = {};
      try { e = (await res.json()).error || {}; } catch {}
      await queue.put({...rec, state: 'invalid', error: {status: res.status, code: e.code, fields: e.fields || {}}});
      return -1;
    }
    return Math.min(parseInt(res.headers.get('Retry-After'), 10) * 1000 || 0, 60000);
  }

  async function round() {
    for (const rec of await queue.all()) {
      if (rec.state !== 'pending') continue;
      if (!navigator.onLine) return; // the 'online' event brings us back
      const wait = await send(rec);
      changed();
      if (wait >= 0) {
        delay = Math.min(Math.max(1000, delay * 2), MAX_DELAY);
        clearTimeout(timer);
        timer = setTimeout(flush, wait || delay * (0.8 + Math.random() * 0.4));
        return;
      }
    }
    delay = 0;
  }

  function flush() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await (navigator.locks ? navigator.locks.request('leadcap-send', round) : round());
        } while (again);
      } catch {
        // IndexedDB failed; the next flush tries again
      } finally {
        running = null;
        changed();
      }
    })();
    return running;
  }

  return {flush, now() { delay = 0; clearTimeout(timer); return flush(); }};
}
