// The device's queue of leads not yet accepted by the server, in IndexedDB.
// A lead is written here before it is sent, and leaves only when the server
// has answered 2xx, so closing the page or losing the network loses nothing.
// A record is {id, body, created, state, who, error}: state is 'pending'
// (to send) or 'invalid' (refused by the server, shown to staff).

let opened;

function db() {
  opened ||= new Promise((ok, fail) => {
    const req = indexedDB.open('leadcap', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('queue', {keyPath: 'id'});
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
  return opened;
}

// run runs fn on the store in one transaction and resolves with the result
// of the request fn returns, once the transaction has committed.
async function run(mode, fn) {
  const tx = (await db()).transaction('queue', mode, {durability: 'strict'});
  const req = fn(tx.objectStore('queue'));
  return new Promise((ok, fail) => {
    tx.oncomplete = () => ok(req.result);
    tx.onerror = tx.onabort = () => fail(tx.error);
  });
}

export const put = rec => run('readwrite', s => s.put(rec));
export const remove = id => run('readwrite', s => s.delete(id));
export const get = id => run('readonly', s => s.get(id));
export const all = () => run('readonly', s => s.getAll()).then(list => list.sort((a, b) => a.created - b.created));
