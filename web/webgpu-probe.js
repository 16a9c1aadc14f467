// Runs before the wasm loads: tells the user at once when the browser has no WebGPU, and
// gives the app a readable adapter name (browsers often leave GPUAdapterInfo.description empty).
(function () {
  function showNotice() {
    var notice = document.getElementById('webgpu-notice');
    if (notice) notice.style.display = 'block';
  }
  window.paperlabAdapterInfo = '';
  if (!('gpu' in navigator) || !window.isSecureContext) {
    document.addEventListener('DOMContentLoaded', showNotice);
    return;
  }
  navigator.gpu.requestAdapter().then(function (adapter) {
    if (!adapter) {
      if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', showNotice);
      } else {
        showNotice();
      }
      return;
    }
    var info = adapter.info || {};
    var parts = [info.description, info.vendor, info.architecture, info.device]
      .filter(function (s) { return s && s.length > 0; });
    window.paperlabAdapterInfo = parts.length > 0 ? parts.join(' ') : '';
  }, function () { /* treated as no WebGPU; the app decides and says so */ });
})();

// A failure before the Rust panic hook exists (the wasm did not load) still reaches the page.
window.addEventListener('error', function (event) {
  var box = document.getElementById('panic-box');
  if (!box || box.style.display === 'block') return;
  box.textContent = 'paperlab failed: ' + (event.message || 'unknown error') + '\n\nReload the page to start again.';
  box.style.display = 'block';
});
window.addEventListener('unhandledrejection', function (event) {
  var box = document.getElementById('panic-box');
  if (!box || box.style.display === 'block') return;
  box.textContent = 'paperlab failed: ' + String(event.reason) + '\n\nReload the page to start again.';
  box.style.display = 'block';
});
