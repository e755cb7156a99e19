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
