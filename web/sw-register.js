// Registers the service worker (web/sw.js) with the build's key, so a visited page works
// offline. Off on a local development server (localhost, 127.0.0.1) unless the page is opened
// with ?sw=1 (the browser tests do); ?sw=0 turns it off anywhere.
(function () {
  if (!('serviceWorker' in navigator)) return;
  const wanted = new URLSearchParams(location.search).get('sw');
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  if (wanted === '0' || (local && wanted !== '1')) return;
  window.addEventListener('load', () => {
    // Trunk names the app paperlab-<content hash>.js: that hash is the build's key.
    const app = document.querySelector('link[rel="modulepreload"][href*="paperlab-"]');
    const match = app && app.getAttribute('href').match(/paperlab-([0-9a-f]+)\.js/);
    const build = match ? match[1] : 'unknown';
    navigator.serviceWorker.register(`./sw.js?build=${build}`, { scope: './' })
      .catch((e) => console.warn('service worker not registered:', e));
  });
})();
