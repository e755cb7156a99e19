window.coreBench = ({ path = '/app/package.json', verify = true } = {}) => {
  const file = document.getElementById('file-input').files[0];
  if (!file) throw new Error('no file picked');
  const worker = new Worker(new URL('./core-worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e) => { worker.terminate(); if (e.data.error) reject(new Error(e.data.error)); else resolve(e.data); };
    worker.onerror = (e) => { worker.terminate(); reject(new Error(e.message || 'worker failed')); };
    worker.postMessage({ file, path, verify });
  });
};
