// Each phase of the core on its own, in one worker, with nothing else running.
import init, { Session } from '../www/pkg/strata.js';

self.onmessage = async (event) => {
  const { file, path, verify } = event.data;
  try {
    const t = {};
    let mark = performance.now();
    const lap = (name) => { const now = performance.now(); t[name] = now - mark; mark = now; };
    const exports = await init({ module_or_path: new URL('../www/pkg/strata_bg.wasm', import.meta.url) });
    lap('init');
    const noop = () => {};
    const s = Session.open(file, noop);
    lap('open');
    s.index_layers(noop);
    lap('index_layers');
    t.mem_after_index = exports.memory.buffer.byteLength;
    mark = performance.now();
    t.nodes = s.build_tree(0);
    lap('build_tree');
    s.list_dir(0, undefined, '/');
    lap('list_root');
    const bytes = s.read_file(0, undefined, path, 0, 65536);
    lap('read_file');
    t.read_bytes = bytes.length;
    if (verify) {
      s.verify(noop, noop);
      lap('verify');
      t.verified = s.report().images.every((i) => i.verified);
    }
    t.mem_end = exports.memory.buffer.byteLength;
    s.free();
    postMessage(t);
  } catch (e) {
    postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
};
