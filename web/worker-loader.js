// Starts the page's job worker (src/bin/paperlab-worker.rs, which Trunk builds as
// paperlab-worker.js + paperlab-worker_bg.wasm). The page passes its build key (?build=<hash of
// the app's file name>) and it goes on every URL here, so a browser cache never pairs a page with
// another build's worker. A module that fails to load is rethrown as the worker's error event:
// the page then runs the job itself and says so.
const build = new URL(self.location.href).searchParams.get('build') || 'dev';
importScripts(`./paperlab-worker.js?build=${build}`);
wasm_bindgen({ module_or_path: `./paperlab-worker_bg.wasm?build=${build}` }).catch((e) => {
  setTimeout(() => { throw new Error(`the worker's module did not load: ${e}`); });
});
