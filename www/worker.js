// The module worker that runs the strata core (Rust → wasm). All reading, hashing and
// merging happens here, over the dropped File, so the page never freezes and nothing is
// uploaded. The page talks to it with {id, op, ...} requests; it answers {id, ok, value}
// or {id, ok: false, error}, and posts {type: 'progress' | 'indexed' | 'verified' | 'verdict'}
// events while long jobs run.
import init, { Session } from './pkg/strata.js';

const ready = init({ module_or_path: new URL('./pkg/strata_bg.wasm', import.meta.url) });
const sessions = new Map();
let nextHandle = 1;

// Progress goes out at most every ~50 ms; a change of phase or item always goes out.
function progressPoster(handle) {
  let last = 0;
  let lastPhase = '';
  let lastItem = -1;
  const started = performance.now();
  return (p) => {
    const now = performance.now();
    if (now - last < 50 && p.phase === lastPhase && p.item === lastItem && p.done !== p.total) return;
    last = now;
    lastPhase = p.phase;
    lastItem = p.item;
    postMessage({ type: 'progress', handle, ...p, elapsed: now - started });
  };
}

function session(handle) {
  const s = sessions.get(handle);
  if (!s) throw new Error('that archive is no longer open');
  return s;
}

const ops = {
  // Open an archive: answer with the metadata report at once, then keep working
  // (index layers and/or verify) and post events as each stage finishes.
  open({ file, mode }, reply) {
    const handle = nextHandle++;
    const started = performance.now();
    const s = Session.open(file, progressPoster(handle));
    sessions.set(handle, s);
    reply({ handle, report: s.report(), ms: performance.now() - started });
    // The request is answered; what fails from here on is reported as an event.
    let stage = 'indexing';
    const verify = () => {
      stage = 'verifying';
      s.verify(progressPoster(handle), (report) => postMessage({ type: 'verdict', handle, report }));
      postMessage({ type: 'verified', handle, report: s.report(), ms: performance.now() - started });
    };
    try {
      if (mode === 'browse') {
        s.index_layers(progressPoster(handle));
        // Compressed layers can only be listed once they have been read in full: this
        // worker verifies them itself (the page stops its separate verifier).
        if (!s.all_layers_indexed()) {
          postMessage({ type: 'self-verify', handle });
          verify();
        }
        stage = 'merging';
        const report = s.report();
        if (report.images.length) s.build_tree(0);
        postMessage({ type: 'indexed', handle, report, ms: performance.now() - started });
      } else if (mode === 'verify') {
        verify();
      }
    } catch (error) {
      postMessage({ type: 'failed', handle, stage, error: messageOf(error) });
    }
    return undefined;
  },
  report: ({ handle }) => session(handle).report(),
  listDir: ({ handle, image, layer, path }) => session(handle).list_dir(image, layer ?? undefined, path),
  find: ({ handle, image, layer, pattern, limit }) => session(handle).find(image, layer ?? undefined, pattern, limit),
  readFile: ({ handle, image, layer, path, offset, length }) => {
    const bytes = session(handle).read_file(image, layer ?? undefined, path, offset, length);
    return { value: bytes, transfer: [bytes.buffer] };
  },
  layerChanges: ({ handle, image }) => session(handle).layer_changes(image),
  waste: ({ handle, image }) => session(handle).waste(image),
  dockerfile: ({ handle, image }) => session(handle).dockerfile(image),
  diff: ({ handle, image, otherHandle, otherImage }) => (otherHandle === undefined || otherHandle === handle
    ? session(handle).diff(image, otherImage)
    : session(handle).diff_with(image, session(otherHandle), otherImage)),
  exportFile: ({ handle, image, layer, path }) => collect((cb) => session(handle).export_file(image, layer ?? undefined, path, cb)),
  exportRootfs: ({ handle, image }) => collect((cb) => session(handle).export_rootfs(image, cb)),
  exportLayer: ({ handle, image, layer }) => collect((cb) => session(handle).export_layer(image, layer, cb)),
  reportJson: ({ handle }) => session(handle).report_json(),
  close: ({ handle }) => {
    const s = sessions.get(handle);
    if (s) s.free();
    sessions.delete(handle);
  },
  memory: () => strataMemory(),
};

// Exports arrive in chunks; a Blob made of them lives outside wasm memory (the browser
// may keep it on disk), so a multi-GB export never has to fit in the 4 GiB wasm heap.
function collect(run) {
  const parts = [];
  run((chunk) => parts.push(chunk));
  return new Blob(parts);
}

let wasmMemory = null;
function strataMemory() {
  return wasmMemory ? wasmMemory.buffer.byteLength : 0;
}
ready.then((exports) => { wasmMemory = exports.memory; });

self.onmessage = async (event) => {
  const { id, op, ...args } = event.data;
  try {
    await ready;
    const fn = ops[op];
    if (!fn) throw new Error(`unknown request ${op}`);
    let replied = false;
    const reply = (value, transfer) => {
      replied = true;
      postMessage({ id, ok: true, value }, transfer || []);
    };
    const result = fn(args, reply);
    if (!replied) {
      if (result && result.transfer) reply(result.value, result.transfer);
      else reply(result);
    }
  } catch (error) {
    postMessage({ id, ok: false, error: messageOf(error) });
  }
};

function messageOf(error) {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  // A wasm trap (should not happen: the core does not panic) arrives as a RuntimeError.
  return String(error);
}
