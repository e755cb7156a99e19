// The page's side of the worker protocol: promises for requests, a callback for events.

// The core's wasm is compiled once, here, and the compiled module is handed to every worker:
// one compilation (and one tier-up of the hot code) instead of one per worker, three when
// the page loads and three more each time the pool refills.
let compiledCore = null;
function compileCore() {
  if (!compiledCore) {
    const url = new URL('../pkg/strata_bg.wasm', import.meta.url);
    compiledCore = WebAssembly.compileStreaming(fetch(url)).catch(() => null); // the worker then loads it itself
  }
  return compiledCore;
}

export class CoreWorker {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.pending = new Map();
    this.nextId = 1;
    this.dead = null;
    this.worker = new Worker(new URL('../worker.js', import.meta.url), { type: 'module' });
    // The worker waits for this first message before it answers anything; messages sent
    // meanwhile queue up in order behind it.
    this.started = compileCore().then((module) => { if (!this.dead) this.worker.postMessage({ coreModule: module }); });
    this.worker.addEventListener('message', (event) => this.receive(event.data));
    // A worker that cannot even load (missing pkg/, old browser) fails every request in words.
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      const detail = event.message || 'worker failed to load';
      this.fail(`the inspector engine could not start (${detail})`, { key: 'error.engine_start', params: { detail } });
    });
    this.worker.addEventListener('messageerror', () => this.fail('the inspector engine sent an unreadable message', { key: 'error.engine_message' }));
  }

  receive(message) {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(errorOf(message));
    } else if (message.type === 'broken') {
      // The core trapped: this worker is done (see worker.js); the page hears 'dead'.
      this.fail(message.error, message);
    } else if (this.onEvent) {
      this.onEvent(message, this);
    }
  }

  request(op, args = {}, transfer = []) {
    if (this.dead) return Promise.reject(errorOf({ error: this.dead, ...this.deadWords }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.started.then(() => { if (!this.dead) this.worker.postMessage({ id, op, ...args }, transfer); });
    });
  }

  get busy() {
    return this.pending.size > 0;
  }

  /** A helper's reads wait (`on`) or go on (see `Priority`). A control message outside the
   * request protocol: the worker takes it at once, between its reads. */
  holdReads(on) {
    this.started.then(() => { if (!this.dead) this.worker.postMessage({ holdReads: on }); });
  }

  /** This worker is done. `words` may name the message for the page's catalogs:
   * {key, params} (the page's own) or {code, params} (the core's). */
  fail(message, words = {}) {
    this.dead = message;
    this.deadWords = words;
    for (const waiter of this.pending.values()) waiter.reject(errorOf({ error: message, ...words }));
    this.pending.clear();
    if (this.onEvent) this.onEvent({ type: 'dead', error: message, message, key: words.key, code: words.code, params: words.params }, this);
  }

  /** Stop at once, whatever it is doing (a synchronous wasm loop never sees messages). */
  terminate(reason = 'cancelled') {
    this.worker.terminate();
    this.dead = reason;
    const error = new Error(reason);
    error.cancelled = true;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** Requests the person waits for (a listing, a file, the Packages scan…) go before the
 * helpers' hashing. On 2 cores the browsing worker shares the machine with two helpers that
 * read and hash blobs: measured on a real Debian image, the Packages tab took ~640 ms while
 * they hashed and ~270 ms once they were done. So while any such request is pending, the
 * helpers take no new blob (`idle()`, awaited by the page's hashing loop) and their stream
 * reads wait between chunks (`holdReads`), and both go on when the last request ends.
 * Nothing polls: each waits on a promise that the end of the last request resolves. */
export class Priority {
  constructor() {
    this.pending = 0;
    this.helpers = [];
    this.gate = null; // resolves when the last pending request ends
    this.openGate = null;
    this.holds = 0; // times the helpers were held (for the tests and the benchmark)
    this.requests = 0; // the person's requests sent (for the tests)
  }

  /** The helpers that hold back from now on (an empty list once they are done). */
  setHelpers(helpers) {
    this.helpers = helpers;
    if (!this.gate || !helpers.length) return;
    this.holds += 1;
    for (const helper of helpers) helper.holdReads(true);
  }

  /** Send the person's request (`send()` returns its promise); helpers hold while it is pending. */
  async forPerson(send) {
    this.requests += 1;
    if (this.pending++ === 0) this.hold();
    try {
      return await send();
    } finally {
      if (--this.pending === 0) this.release();
    }
  }

  hold() {
    this.gate = new Promise((resolve) => { this.openGate = resolve; });
    if (!this.helpers.length) return;
    this.holds += 1;
    for (const helper of this.helpers) helper.holdReads(true);
  }

  release() {
    for (const helper of this.helpers) helper.holdReads(false);
    const open = this.openGate;
    this.gate = null;
    this.openGate = null;
    open();
  }

  /** Resolves once no request of the person's is pending (at once when none is). */
  idle() {
    return this.gate || Promise.resolve();
  }
}

/** An Error from a worker's answer, carrying what the page needs to word it in its own
 * language: a catalog key (`key`) or the core's code (`code`), with their `params`; the
 * English `message` stays for a code the catalogs do not know. */
function errorOf(answer) {
  const error = new Error(answer.error);
  if (answer.key) error.key = answer.key;
  if (answer.code) error.code = answer.code;
  if (answer.params) error.params = answer.params;
  return error;
}
