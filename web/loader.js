// Trunk's initializer for the app's wasm (data-initializer in index.html): a real progress bar,
// bytes received of the module's size, while the 6 MB module (about 2.9 MB compressed on the
// wire) downloads; then "Starting…" while it compiles. The counts are the decoded bytes the
// fetch stream delivers, so current reaches total whatever the transfer encoding.
// window.paperlabLoad keeps the last figures for the browser tests.
export default function initializer() {
  const text = () => document.getElementById('loading-text');
  const fill = () => document.getElementById('loading-fill');
  const box = () => document.getElementById('loading');
  const mb = (bytes) => (bytes / 1e6).toFixed(1);
  window.paperlabLoad = { current: 0, total: 0, done: false, error: null };
  return {
    onStart() {
      if (text()) text().textContent = 'Loading paperlab…';
    },
    onProgress({ current, total }) {
      window.paperlabLoad.current = current;
      window.paperlabLoad.total = total;
      const share = total > 0 ? Math.min(1, current / total) : 0;
      const percent = Math.round(100 * share);
      if (fill()) fill().style.width = `${percent}%`;
      if (box()) box().setAttribute('aria-valuenow', String(percent));
      if (text()) text().textContent = `Loading paperlab… ${mb(current)} of ${mb(total)} MB`;
    },
    onComplete() {
      window.paperlabLoad.done = true;
      if (text()) text().textContent = 'Starting paperlab…';
    },
    onFailure(error) {
      window.paperlabLoad.error = String(error);
      if (text()) text().textContent = `paperlab could not load: ${error}. Reload the page to try again.`;
    },
  };
}
