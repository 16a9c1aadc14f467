// Long main-thread tasks (the browser's 'longtask' entries: over 50 ms), from the start of the
// page, as [start ms, duration ms] pairs: the labs publish the longest since their job started
// (status-gfn's longest_main_task_ms), so the browser tests can hold the page to a smooth UI.
(function () {
  window.paperlabLongTasks = [];
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        window.paperlabLongTasks.push([entry.startTime, entry.duration]);
        if (window.paperlabLongTasks.length > 2000) window.paperlabLongTasks.shift();
      });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {
    // No long-task timing in this browser: the figure stays unknown (null).
    window.paperlabLongTasks = null;
  }
})();

// The build uses WebAssembly SIMD (simd128): without it the module cannot even compile. Say so
// plainly instead of failing with a CompileError. The bytes are a one-function module using
// i8x16.popcnt (the wasm-feature-detect test); browsers without SIMD reject it.
(function () {
  var simd = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10,
    10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  var supported = typeof WebAssembly === 'object' && WebAssembly.validate(simd);
  window.paperlabWasmSimd = supported;
  if (supported) return;
  function explain() {
    var box = document.getElementById('panic-box');
    var loading = document.getElementById('loading');
    if (loading) loading.style.display = 'none';
    if (!box) return;
    box.textContent = 'paperlab needs WebAssembly SIMD, which this browser does not offer.\n' +
      'Chrome or Edge 91+, Firefox 89+ and Safari 16.4+ have it (on iOS, iOS 16.4+).';
    box.style.display = 'block';
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', explain);
  } else {
    explain();
  }
})();

// Runs before the wasm loads: tells the user at once when the browser has no WebGPU, and
// gives the app a readable adapter name (browsers often leave GPUAdapterInfo.description empty).
(function () {
  function showNotice() {
    var notice = document.getElementById('webgpu-notice');
    if (notice) notice.style.display = 'block';
  }
  window.paperlabAdapterInfo = '';
  if (new URLSearchParams(location.search).get('compute') === 'cpu') {
    document.addEventListener('DOMContentLoaded', function () {
      var notice = document.getElementById('webgpu-notice');
      if (notice) {
        notice.textContent = 'This page computes on the CPU (?compute=cpu in the address): ' +
          'slower, same results. Remove it to use WebGPU where the browser has it.';
      }
      showNotice();
    });
    return;
  }
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
