// Browser tests of the built page (dist/) in headless Debian Chromium, driven by playwright-core.
//
//  (a) WebGPU (SwiftShader): ?selftest=1 passes on the GPU path; the Device page measures.
//  (b) no WebGPU (WebGL2 + CPU fallback): the page loads, says so, passes on the CPU path.
//  (c) served from a sub-path (/paperlab/): loads and passes.
//  (d) share links: a link restores settings, a garbage link is corrected and reported.
//  (e) labs: GFlowNet training, OC-GFN view, bandits Monte Carlo (GPU and CPU fallback),
//      fairness decomposition and accuracy limit (CPU math, in the no-WebGPU browser);
//      quantization trade-offs and the kernel suite (WebGPU and CPU fallback); marginalization
//      queries, sampling, speed and in-page training (WebGPU and CPU fallback).
//  (f) platform: home page, back/forward between labs, CSV and PNG downloads, a phone-sized
//      viewport, offline reload through the service worker.
//  Every page: no panic box, no console error. Screenshots go to target/screenshots/.
//
// Usage: node run.mjs [dist-dir]   (scripts/test builds dist/ first)
//        ONLY=fairness node run.mjs dist   runs the groups with that tag while working on them (also
//        ONLY=quant, mam, gfn, bandits, keys, selftest, platform); each group prints its time.

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const dist = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
const shots = path.join(root, 'target', 'screenshots');
fs.mkdirSync(shots, { recursive: true });

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BASE_FLAGS = [
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--disable-dev-shm-usage',
  ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []),
];
// Verified on these machines: without the last three the canvas device is lost in most runs.
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-vulkan=swiftshader', '--use-angle=vulkan'];
const SELFTEST_TIMEOUT_MS = 240_000;
// Small sizes keep the Device page's own benchmark short while the self-test runs.
const SMALL = 'rows=512&cols=512&copy_mib=4&reps=3';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
  '.webmanifest': 'application/manifest+json', '.ico': 'image/x-icon',
};

/// Serves dist/ at / and at /paperlab/ (as a static host serves a project site).
function serve() {
  const server = http.createServer((req, res) => {
    let url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (url.startsWith('/paperlab/')) url = url.slice('/paperlab'.length);
    else if (url === '/paperlab') { res.writeHead(301, { location: '/paperlab/' }); res.end(); return; }
    if (url.endsWith('/')) url += 'index.html';
    const file = path.join(dist, path.normalize(url));
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end('not found'); return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const failures = [];
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures.push(`${name}${detail ? `: ${detail}` : ''}`);
}

/// Opens `url`, collects console errors and page errors, returns helpers.
async function openPage(browser, url, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
  await page.goto(url, { waitUntil: 'load' });
  return { page, context, consoleErrors, name };
}

async function status(page, name) {
  const text = await page.evaluate((id) => document.getElementById(id)?.textContent ?? null, `status-${name}`);
  return text ? JSON.parse(text) : null;
}

async function finish(p) {
  const panic = await p.page.evaluate(() => {
    const box = document.getElementById('panic-box');
    return box && getComputedStyle(box).display !== 'none' ? box.textContent : null;
  });
  check(`${p.name}: no panic box`, panic === null, panic ?? '');
  check(`${p.name}: no console error`, p.consoleErrors.length === 0, p.consoleErrors.slice(0, 3).join(' | '));
  await p.page.screenshot({ path: path.join(shots, `${p.name}.png`) });
  await p.context.close();
}

async function selftest(browser, url, name, expectedPath) {
  const p = await openPage(browser, url, name);
  try {
    // Stop early when the page shows its panic box: waiting longer cannot help.
    await p.page.waitForFunction(() => document.title.startsWith('paperlab selftest:')
      || getComputedStyle(document.getElementById('panic-box')).display !== 'none', null,
      { timeout: SELFTEST_TIMEOUT_MS, polling: 500 });
    if (!(await p.page.title()).startsWith('paperlab selftest:')) throw new Error('panic box shown');
  } catch (e) {
    check(`${name}: self-test finished`, false, `title is '${await p.page.title()}'`);
    await finish(p);
    return;
  }
  const title = await p.page.title();
  const report = JSON.parse(await p.page.$eval('#selftest-result', (el) => el.textContent));
  const failed = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
  check(`${name}: self-test PASS`, title === 'paperlab selftest: PASS', failed.join('; '));
  const paths = [...new Set(report.checks.map((c) => c.path))];
  check(`${name}: checks ran on the ${expectedPath} path`, paths.length === 1 && paths[0] === expectedPath,
    `paths ${paths.join(',')}, compute '${report.compute}'`);
  check(`${name}: at least 5 checks`, report.checks.length >= 5, `${report.checks.length}`);
  const notice = await p.page.evaluate(() => getComputedStyle(document.getElementById('webgpu-notice')).display);
  check(`${name}: WebGPU notice ${expectedPath === 'cpu' ? 'shown' : 'hidden'}`,
    (notice !== 'none') === (expectedPath === 'cpu'), `display ${notice}`);
  // Let the Device page's own benchmark finish too, so the screenshot shows figures.
  try {
    await p.page.waitForFunction(() => {
      const el = document.getElementById('status-device');
      return (el && JSON.parse(el.textContent).finished)
        || getComputedStyle(document.getElementById('panic-box')).display !== 'none';
    }, null, { timeout: SELFTEST_TIMEOUT_MS, polling: 500 });
    const device = await status(p.page, 'device');
    check(`${name}: device benchmark verified`, device.all_verified && device.measurements > 0,
      JSON.stringify(device.summary));
    if (expectedPath === 'gpu') {
      check(`${name}: copy GB/s measured`, device.summary.copy_gbps > 0, `${device.summary.copy_gbps}`);
      check(`${name}: GEMV fraction of copy measured`, device.summary.gemv_f32_fraction_of_copy > 0,
        `${device.summary.gemv_f32_fraction_of_copy}`);
    } else {
      check(`${name}: CPU copy GB/s measured`, device.summary.cpu_copy_gbps > 0, `${device.summary.cpu_copy_gbps}`);
    }
  } catch (e) {
    check(`${name}: device benchmark finished`, false, String(e).slice(0, 200));
  }
  await p.page.waitForTimeout(300);
  await finish(p);
}

async function links(browser, base) {
  const link = '#lab=device&rows=2048&cols=1024&copy_mib=2&reps=3&seed=42&cpu=false&gemv=rowwise';
  const good = await openPage(browser, `${base}${link}`, 'link-restore');
  await good.page.waitForFunction(() => document.getElementById('status-link'), null, { timeout: 60_000 });
  const restored = await status(good.page, 'link');
  check('link: settings restored', restored.fragment === link, restored.fragment);
  check('link: no corrections', restored.corrections.length === 0, restored.corrections.join('; '));
  const hash = await good.page.evaluate(() => location.hash);
  check('link: address bar keeps the link', hash === restored.fragment, hash);
  // Editing the address bar (as a user would) opens the new link without a reload.
  await good.page.evaluate(() => { location.hash = '#lab=device&rows=128&cols=128&copy_mib=1&reps=3&seed=1&cpu=false'; });
  await good.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).fragment.includes('rows=128'),
    null, { timeout: 30_000 });
  check('link: an edited fragment is followed', true);
  await finish(good);

  const bad = await openPage(browser, `${base}#lab=device&rows=-5&cols=99999&seed=x%ZZ&copy_mib=&zzz=1&reps=3`, 'link-garbage');
  await bad.page.waitForFunction(() => document.getElementById('status-link'), null, { timeout: 60_000 });
  const corrected = await status(bad.page, 'link');
  const keys = corrected.corrections.map((c) => c.split(':')[0]);
  check('garbage link: corrections reported', ['rows', 'cols', 'seed', 'copy_mib', 'zzz'].every((k) => keys.includes(k)),
    corrected.corrections.join('; '));
  check('garbage link: device lab with safe values', corrected.lab === 'device' && corrected.fragment.includes('rows=4096')
    && corrected.fragment.includes('cols=16384'), corrected.fragment);
  await bad.page.waitForTimeout(500);
  await finish(bad);

  const nolab = await openPage(browser, `${base}#lab=nolab&rows=3`, 'link-unknown-lab');
  await nolab.page.waitForFunction(() => document.getElementById('status-link'), null, { timeout: 60_000 });
  const home = await status(nolab.page, 'link');
  check('unknown lab: home page, lab and key reported', home.lab === 'home'
    && ['lab', 'rows'].every((k) => home.corrections.some((c) => c.startsWith(k))), JSON.stringify(home));
  await finish(nolab);
}

/// Centre of a named button the app publishes (status-ui), in page pixels.
async function button(page, name) {
  await page.waitForFunction((n) => {
    const el = document.getElementById('status-ui');
    return el && JSON.parse(el.textContent).buttons[n];
  }, name, { timeout: 60_000 });
  return (await status(page, 'ui')).buttons[name];
}

/// The home page is the default; its cards lead into labs; tab clicks add history entries
/// that back and forward walk through.
async function homeAndHistory(browser, base) {
  const p = await openPage(browser, base, 'home-history');
  try {
    await p.page.waitForFunction(() => document.getElementById('status-home'), null, { timeout: 60_000 });
    const link = await status(p.page, 'link');
    check('home: the default page', link.lab === 'home' && link.fragment === '#lab=home', JSON.stringify(link));
    const page = await p.page.evaluate(() => ({
      title: document.title,
      simd: window.paperlabWasmSimd,
      summary: (document.getElementById('static-summary') || {}).textContent || '',
      canvasLabel: document.getElementById('paperlab_canvas').getAttribute('aria-label'),
      load: window.paperlabLoad,
      // The browser's own count of the module's bytes, to hold the bar's total against.
      wasmBytes: performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'))?.decodedBodySize,
      loadingGone: document.getElementById('loading') === null,
    }));
    check('loading: the progress bar\'s total is the module\'s size, it finished, then went away',
      page.load && page.load.done && page.load.error === null && page.load.total > 1e6
        && page.load.total === page.wasmBytes && page.loadingGone, `${JSON.stringify(page.load)}, ${page.wasmBytes} bytes`);
    check('home: title, SIMD detected, static summary and canvas label',
      page.title === 'paperlab' && page.simd === true && page.summary.includes('Marginalization models')
        && (page.canvasLabel || '').length > 10, JSON.stringify(page).slice(0, 200));
    await p.page.waitForTimeout(500);
    await p.page.screenshot({ path: path.join(shots, 'home-page.png') });
    const [x, y] = await button(p.page, 'tab-bandits');
    await p.page.mouse.click(x, y);
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).lab === 'bandits',
      null, { timeout: 30_000 });
    check('history: a tab click opens the lab', true);
    await p.page.waitForFunction(() => document.title === 'paperlab · Bandits', null, { timeout: 10_000 })
      .then(() => check('title: the tab is named after the open lab', true))
      .catch(async () => check('title: the tab is named after the open lab', false, await p.page.title()));
    await p.page.waitForTimeout(300);
    await p.page.goBack();
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).lab === 'home',
      null, { timeout: 30_000 });
    check('history: back returns to the home page', true);
    await p.page.waitForTimeout(300);
    check('title: back to home, back to "paperlab"', (await p.page.title()) === 'paperlab', await p.page.title());
    await p.page.goForward();
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).lab === 'bandits',
      null, { timeout: 30_000 });
    check('history: forward returns to the lab', true);
  } catch (e) {
    check('home and history', false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The loading bar on a slow connection (about 1 MB/s): part-way, it shows how much of the module
/// has arrived.
async function loadProgress(browser, base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions',
      { offline: false, latency: 20, downloadThroughput: 1_000_000, uploadThroughput: 1_000_000 });
    await page.goto(base, { waitUntil: 'load' });
    await page.waitForFunction(() => {
      const bar = document.getElementById('loading');
      const now = Number(bar?.getAttribute('aria-valuenow') ?? 0);
      return now >= 10 && now <= 90;
    }, null, { timeout: 60_000, polling: 100 });
    const shown = await page.evaluate(() => document.getElementById('loading-text').textContent);
    await page.screenshot({ path: path.join(shots, 'loading-progress.png') });
    check('loading: part-way, the bar says how much has arrived', /\d+\.\d of \d+\.\d MB/.test(shown), shown);
  } catch (e) {
    check('loading: part-way, the bar says how much has arrived', false, String(e).slice(0, 200));
  }
  await context.close();
}

/// Exports: the regret plot's CSV and the view's PNG download as files.
async function exports(browser, base) {
  const p = await openPage(browser, `${base}#lab=bandits&runs=64&horizon=2000`, 'export');
  try {
    await p.page.waitForFunction(() => {
      const el = document.getElementById('status-bandits');
      return el && JSON.parse(el.textContent).done;
    }, null, { timeout: 120_000, polling: 500 });
    await p.page.waitForTimeout(500);
    const [cx, cy] = await button(p.page, 'csv');
    const [csv] = await Promise.all([p.page.waitForEvent('download', { timeout: 30_000 }), p.page.mouse.click(cx, cy)]);
    const text = fs.readFileSync(await csv.path(), 'utf8');
    const lines = text.trim().split('\n');
    check('export: CSV downloads with a header', csv.suggestedFilename() === 'bandits-regret.csv'
      && lines[0].startsWith('t (rounds),wtb-se mean CPR') && lines.length === 65, `${csv.suggestedFilename()}: ${lines[0]} (${lines.length} lines)`);
    const [px, py] = await button(p.page, 'png');
    const [png] = await Promise.all([p.page.waitForEvent('download', { timeout: 30_000 }), p.page.mouse.click(px, py)]);
    const bytes = fs.readFileSync(await png.path());
    check('export: PNG downloads', png.suggestedFilename() === 'paperlab-bandits.png'
      && bytes.subarray(1, 4).toString() === 'PNG' && bytes.length > 10_000, `${png.suggestedFilename()} ${bytes.length} B`);
  } catch (e) {
    check('export', false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// A phone-sized viewport: the narrow layout (controls folded above full-width plots).
async function phone(browser, base) {
  for (const [name, link] of [['phone-home', '#lab=home'], ['phone-bandits', '#lab=bandits&runs=64&horizon=2000'],
    ['phone-gfn', '#lab=gfn'], ['phone-fairness', '#lab=fairness&view=frontier'], ['phone-mam', '#lab=mam'],
    ['phone-quant', '#lab=quant']]) {
    // deviceScaleFactor 1: with an emulated factor of 2, Chromium's ResizeObserver still reports
    // the canvas's device-pixel size in CSS pixels (microsoft/playwright#18591), so eframe sizes
    // its canvas at half the device pixels and the screenshot shows the page at twice a phone's
    // zoom (a layout 195 points wide). A real phone reports its device pixels.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}${link}`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('status-link'), null, { timeout: 60_000 });
    if (name === 'phone-bandits') {
      await page.waitForFunction(() => {
        const el = document.getElementById('status-bandits');
        return el && JSON.parse(el.textContent).done;
      }, null, { timeout: 120_000, polling: 500 });
    }
    await page.waitForTimeout(800);
    await page.screenshot({ path: path.join(shots, `${name}.png`) });
    check(`${name}: no page error`, errors.length === 0, errors.join(' | '));
    await context.close();
  }
}

/// Offline: a visited page (service worker on: ?sw=1 on this local server) starts again with
/// the server gone and the browser offline.
async function offline(browser) {
  const own = await serve();
  const url = `http://127.0.0.1:${own.address().port}/?sw=1#lab=home`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  try {
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('status-link'), null, { timeout: 60_000 });
    const cacheName = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) await new Promise((r) => setTimeout(r, 100));
      return (await caches.keys()).find((k) => k.startsWith('paperlab-')) ?? null;
    });
    check('offline: service worker caches the build', cacheName !== null && !cacheName.endsWith('unknown'), `${cacheName}`);
    // Drop the kept-alive connections first: close() waits for every connection to end.
    const closed = new Promise((resolve) => own.close(resolve));
    own.closeAllConnections?.();
    await closed;
    await context.setOffline(true);
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.getElementById('status-link'), null, { timeout: 60_000 });
    check('offline: the page starts again from the cache', (await status(page, 'link')).lab === 'home');
    await page.screenshot({ path: path.join(shots, 'offline-reload.png') });
  } catch (e) {
    check('offline reload', false, String(e).slice(0, 300));
  }
  await context.close();
}

/// The GFlowNet lab trains in the page (frame slices) and evaluates; the status must show
/// progress and a finite L1 within the time limit.
async function gflownet(browser, base, name) {
  const link = '#lab=gfn&train=true&hidden=64&eval_every=300&eval_samples=2000';
  const p = await openPage(browser, `${base}${link}`, name);
  try {
    await p.page.waitForFunction(() => {
      const el = document.getElementById('status-gfn');
      if (getComputedStyle(document.getElementById('panic-box')).display !== 'none') return true;
      return el && JSON.parse(el.textContent).evaluations >= 2;
    }, null, { timeout: 180_000, polling: 500 });
    const st = await status(p.page, 'gfn');
    check(`${name}: trains and evaluates`, st.trajectories >= 300 && st.evaluations >= 2, JSON.stringify(st));
    check(`${name}: L1 is a distance`, st.l1 >= 0 && st.l1 <= 2, `${st.l1}`);
    check(`${name}: the exact L1 of the policy is reported`, st.l1_exact >= 0 && st.l1_exact <= 2, `${st.l1_exact}`);
    check(`${name}: the sampled L1 has its noise floor`, st.l1_noise_floor > 0 && st.l1_noise_floor < 1, `${st.l1_noise_floor}`);
    check(`${name}: modes found`, st.modes_found >= 1, `${st.modes_found}`);
    check(`${name}: no evaluation error`, st.eval_error === null, `${st.eval_error}`);
  } catch (e) {
    check(`${name}: trains and evaluates`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The page's main thread in a Chromium trace (`toplevel` category): the thread CPU time of each
/// top-level task, in ms. Thread time, not wall time: on a machine whose cores are all busy (the
/// page's two workers, the software rasteriser) a task's wall time also counts the time the OS
/// gave the core to another thread, and time spent waiting for the GPU process.
function mainThreadTaskCpuMs(traceJson) {
  const trace = JSON.parse(traceJson);
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = new Set(events
    .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
    .map((e) => `${e.pid}:${e.tid}`));
  // One renderer per page here; should there be more, the busiest main thread is the page's.
  const perThread = new Map();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph !== 'X' || e.name !== 'ThreadControllerImpl::RunTask' || !mains.has(key)) continue;
    if (!perThread.has(key)) perThread.set(key, []);
    // A task without thread time (Chromium omits it for some instant ones) counts its wall time.
    perThread.get(key).push({ cpuMs: (e.tdur ?? e.dur) / 1000, wallMs: e.dur / 1000, source: e.args?.src_func ?? '?' });
  }
  let busiest = [];
  for (const tasks of perThread.values()) {
    const sum = (list) => list.reduce((acc, t) => acc + t.cpuMs, 0);
    if (sum(tasks) > sum(busiest)) busiest = tasks;
  }
  return busiest;
}

/// Issue 20's goal: during 20 s of training at the page's defaults on the CPU path, training
/// runs in the worker at wall-clock speed (at least 70% of the worker's own rate) and no
/// main-thread task exceeds 50 ms. The 20 s are traced, and each main-thread task's CPU time
/// (the page's own work) is held to `cpuLimitMs`. Its wall time (the browser's long tasks) is
/// reported beside it: in headless Chromium with no GPU, the software rasteriser in the GPU
/// process spends about half a second of CPU on each 1280x800 frame, and the main thread both
/// waits for it and shares the two cores with it (docs/BENCHMARKS.md, "training in the browser").
async function gflownetWorker(browser, base, name, link, cpuLimitMs) {
  const p = await openPage(browser, `${base}${link}`, name);
  try {
    await p.page.waitForFunction(() => {
      const el = document.getElementById('status-gfn');
      return el && JSON.parse(el.textContent).trajectories > 0;
    }, null, { timeout: 60_000, polling: 250 });
    await browser.startTracing(p.page, { categories: ['toplevel'] });
    const trainingSeenMs = await p.page.evaluate(() => performance.now());
    await p.page.waitForTimeout(20_000);
    const trace = (await browser.stopTracing()).toString('utf8');
    const st = await status(p.page, 'gfn');
    // Each long task (over 50 ms of wall time) since training was seen, as "+seconds:ms", so
    // that the log says when and how often, not only the worst.
    const longTasks = await p.page.evaluate((since) => (window.paperlabLongTasks ?? [])
      .filter(([start]) => start >= since)
      .map(([start, ms]) => `+${((start - since) / 1000).toFixed(1)}s:${ms.toFixed(0)}ms`), trainingSeenMs);
    const ratio = st.wall_trajectories_per_s / st.compute_trajectories_per_s;
    const figures = `wall ${st.wall_trajectories_per_s.toFixed(0)} traj/s, worker ${st.compute_trajectories_per_s.toFixed(0)} traj/s (${(100 * ratio).toFixed(0)}%), longest main-thread task ${st.longest_main_task_ms} ms of wall time, ${st.trajectories} trajectories, ${st.evaluations} evaluations`;
    console.log(`     ${name}: ${figures}`);
    const shown = longTasks.slice(0, 12).join(' ') + (longTasks.length > 12 ? ` and ${longTasks.length - 12} more` : '');
    console.log(`     ${name}: ${longTasks.length} long task(s) over 50 ms of wall time${longTasks.length > 0 ? `: ${shown}` : ''}`);
    check(`${name}: training runs in the worker`, st.in_worker === true && st.train_error === null,
      `${st.worker_fallback ?? ''} ${st.train_error ?? ''}`);
    check(`${name}: wall-clock rate at least 70% of the worker's`, ratio >= 0.7, figures);
    check(`${name}: evaluations keep coming`, st.evaluations >= 2 && st.l1_exact !== null, figures);
    const tasks = mainThreadTaskCpuMs(trace);
    const worst = tasks.reduce((a, t) => (t.cpuMs > a.cpuMs ? t : a), { cpuMs: 0, wallMs: 0, source: 'none' });
    const cpuTotalS = tasks.reduce((acc, t) => acc + t.cpuMs, 0) / 1000;
    const detail = `${tasks.length} tasks traced, ${cpuTotalS.toFixed(2)} s of main-thread CPU in 20 s; the most CPU in one task ${worst.cpuMs.toFixed(1)} ms (${worst.source}; its wall time ${worst.wallMs.toFixed(1)} ms)`;
    check(`${name}: main-thread tasks traced`, tasks.length > 100, detail);
    check(`${name}: no main-thread task uses over ${cpuLimitMs} ms of CPU`, worst.cpuMs <= cpuLimitMs, detail);
  } catch (e) {
    check(`${name}: trains in the worker`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The OC-GFN view loads the shipped weights at once: success rate, a conditioned target and
/// the exact conversion check are published without any training.
async function ocgfn(browser, base, name) {
  const p = await openPage(browser, `${base}#lab=gfn&view=oc&oc_target=5.6`, name);
  try {
    await p.page.waitForFunction(() => {
      const el = document.getElementById('status-gfn');
      return el && JSON.parse(el.textContent).oc_exact_l1 !== null;
    }, null, { timeout: 120_000, polling: 500 });
    const st = await status(p.page, 'gfn');
    check(`${name}: shipped OC-GFN reaches its outcomes`, st.oc_success >= 0.95, `${st.oc_success}`);
    check(`${name}: conditioned rollouts reach the clicked cell`, st.oc_conditioned_success >= 0.8, `${st.oc_conditioned_success}`);
    check(`${name}: exact conversion close to the target`, st.oc_exact_l1 < 0.1, `${st.oc_exact_l1}`);
    // Fine-tune vs scratch, short, in its worker: the comparison finishes with each seed's
    // exact L1.
    await p.page.evaluate(() => {
      const h = location.hash;
      location.hash = /compare_trajectories=\d+/.test(h)
        ? h.replace(/compare_trajectories=\d+/, 'compare_trajectories=160') : `${h}&compare_trajectories=160`;
    });
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).fragment.includes('compare_trajectories=160'),
      null, { timeout: 30_000 });
    await p.page.waitForTimeout(300);
    const [cx, cy] = await button(p.page, 'oc-compare');
    await p.page.mouse.click(cx, cy);
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-gfn').textContent).oc_comparison_finished === true,
      null, { timeout: 120_000, polling: 500 });
    const done = await status(p.page, 'gfn');
    check(`${name}: fine-tune vs scratch runs in its worker to the end`,
      done.oc_comparison_seeds_with_exact_l1 === 3 && done.oc_comparison_error === null, JSON.stringify(done).slice(0, 300));
  } catch (e) {
    check(`${name}: OC-GFN view`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The harder OC-GFN setting (4D H=8): its shipped f16 network is fetched, reaches its outcomes
/// (measured on 256 of them in the frame), and a short fine-tune vs scratch runs to the end.
async function ocgfn4d(browser, base, name) {
  const p = await openPage(browser, `${base}#lab=gfn&view=oc&ndim=4&height=8&r0=0.001&compare_trajectories=100`, name);
  try {
    await p.page.waitForFunction(() => {
      const el = document.getElementById('status-gfn');
      const st = el && JSON.parse(el.textContent);
      return st && (st.oc_success !== null || st.oc_job_error !== null);
    }, null, { timeout: 120_000, polling: 500 });
    const st = await status(p.page, 'gfn');
    check(`${name}: fetched 4D network reaches its outcomes`,
      st.oc_success >= 0.93 && st.oc_success_outcomes === 256 && st.oc_job_error === null,
      `${st.oc_success} over ${st.oc_success_outcomes}; ${st.oc_source}; ${st.oc_job_error}`);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}.png`) });
    const [cx, cy] = await button(p.page, 'oc-compare');
    await p.page.mouse.click(cx, cy);
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-gfn').textContent).oc_comparison_finished === true,
      null, { timeout: 180_000, polling: 500 });
    const done = await status(p.page, 'gfn');
    check(`${name}: 4D fine-tune vs scratch runs to the end`,
      done.oc_comparison_seeds_with_exact_l1 === 3 && done.oc_comparison_error === null, JSON.stringify(done).slice(0, 300));
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-compared.png`) });
    // The same view on a phone, for a look at the narrow layout.
    await p.page.setViewportSize({ width: 390, height: 844 });
    await p.page.waitForTimeout(800);
    await p.page.screenshot({ path: path.join(shots, `${name}-phone.png`) });
  } catch (e) {
    check(`${name}: OC-GFN view on 4D H=8`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// Keyboard: Space starts and pauses GFlowNet training, R restarts it, ? lists the shortcuts and
/// Esc closes the list.
async function keyboard(browser, base) {
  const p = await openPage(browser, `${base}#lab=gfn&hidden=64&eval_every=300&eval_samples=2000`, 'keyboard');
  const link = async () => JSON.parse(await p.page.evaluate(() => document.getElementById('status-link')?.textContent ?? 'null'));
  try {
    await p.page.waitForFunction(() => document.getElementById('status-gfn'), null, { timeout: 60_000 });
    await p.page.mouse.click(1200, 790); // focus the canvas on an empty spot
    await p.page.keyboard.press('Space');
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).fragment.includes('train=true'),
      null, { timeout: 10_000 });
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-gfn').textContent).trajectories >= 200,
      null, { timeout: 120_000, polling: 250 });
    check('keyboard: Space starts training', true);
    await p.page.keyboard.press('Space');
    await p.page.waitForFunction(() => !JSON.parse(document.getElementById('status-link').textContent).fragment.includes('train=true'),
      null, { timeout: 10_000 });
    const paused = (await status(p.page, 'gfn')).trajectories;
    await p.page.keyboard.press('r');
    await p.page.waitForFunction((before) => JSON.parse(document.getElementById('status-gfn').textContent).trajectories < before,
      paused, { timeout: 10_000 });
    check('keyboard: Space pauses and R restarts', true, `${paused} trajectories before R`);
    await p.page.keyboard.press('Shift+Slash');
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).shortcuts_open === true,
      null, { timeout: 10_000 });
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, 'keyboard-shortcuts.png') });
    await p.page.keyboard.press('Escape');
    await p.page.waitForFunction(() => JSON.parse(document.getElementById('status-link').textContent).shortcuts_open === false,
      null, { timeout: 10_000 });
    check('keyboard: ? lists the shortcuts, Esc closes the list', true);
  } catch (e) {
    check('keyboard: Space, R, ? and Esc work', false, `${String(e).slice(0, 200)}; link ${JSON.stringify(await link())}`);
  }
  await finish(p);
}

/// The bandits lab simulates every algorithm's runs (GPU or CPU), shows the paper's algorithm
/// ahead on the default instance, then (at T = 5,000, to keep the test short on a software
/// adapter) fills the horizon, memory-bound, memory and arms sweeps and records a single run.
async function bandits(browser, base, name, expectGpu) {
  const p = await openPage(browser, `${base}#lab=bandits&runs=128`, name);
  const waitFor = (predicate, arg) => p.page.waitForFunction(([source, value]) => {
    if (getComputedStyle(document.getElementById('panic-box')).display !== 'none') return true;
    const el = document.getElementById('status-bandits');
    return el && new Function('st', 'value', source)(JSON.parse(el.textContent), value);
  }, [predicate, arg], { timeout: 180_000, polling: 500 });
  try {
    await waitFor('return st.done;');
    const st = await status(p.page, 'bandits');
    check(`${name}: simulated without error`, st.done && st.error === null, JSON.stringify(st).slice(0, 300));
    check(`${name}: ran on the ${expectGpu ? 'GPU' : 'CPU, in the worker'}`,
      st.on_gpu === expectGpu && st.in_worker === !expectGpu, `on_gpu ${st.on_gpu}, in_worker ${st.in_worker}, ${st.runs} runs`);
    check(`${name}: REO holds, a* is the last arm`, st.reo_holds && st.a_star === 4, `${st.reo_holds} ${st.a_star}`);
    const paper = st.algorithms['wtb-se'];
    const behind = ['se', 'ucb1', 'exp3', 'sw-ucb', 'batched-exp3'].filter((k) => !(paper.cpr_mean < st.algorithms[k].cpr_mean));
    check(`${name}: the paper's algorithm has the lowest CPR`, behind.length === 0,
      Object.entries(st.algorithms).map(([k, v]) => `${k} ${v.cpr_mean.toFixed(0)}`).join(', '));
    await p.page.screenshot({ path: path.join(shots, `${name}-regret.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=bandits&runs=128&horizon=5000&view=horizon'; });
    await waitFor('return st.horizon_points_done >= 6;');
    check(`${name}: horizon sweep filled`, (await status(p.page, 'bandits')).horizon_points_done >= 6);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-horizon.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=bandits&runs=128&horizon=5000&view=bound'; });
    await waitFor('return st.bound_points_done >= 7;');
    check(`${name}: memory-bound sweep filled`, (await status(p.page, 'bandits')).bound_points_done >= 7);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-bound.png`) });
    for (const [view, key] of [['memory', 'memory_points_done'], ['arms', 'arms_points_done']]) {
      await p.page.evaluate((v) => { location.hash = `#lab=bandits&runs=128&horizon=5000&view=${v}`; }, view);
      await waitFor(`return st.${key} >= 7;`);
      check(`${name}: ${view} sweep filled`, (await status(p.page, 'bandits'))[key] >= 7);
      await p.page.waitForTimeout(300);
      await p.page.screenshot({ path: path.join(shots, `${name}-${view}.png`) });
    }
    await p.page.evaluate(() => { location.hash = '#lab=bandits&runs=128&horizon=5000&view=single&single_algo=wtb-se'; });
    await waitFor('return st.trace_rounds === 5000;');
    check(`${name}: single run recorded`, (await status(p.page, 'bandits')).trace_rounds === 5000);
  } catch (e) {
    check(`${name}: bandits lab`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The fairness lab: the canonical masked example decomposes as the reference says, then on the
/// default (paper, synergy) scenario the model trains, the 20 x 20 accuracy limit fills in
/// across frames, the model sits at or below both limits, and both budgets bind.
async function fairness(browser, base, name) {
  const p = await openPage(browser, `${base}#lab=fairness&scenario=masked&view=pid`, name);
  const waitFor = (predicate) => p.page.waitForFunction((source) => {
    if (getComputedStyle(document.getElementById('panic-box')).display !== 'none') return true;
    const el = document.getElementById('status-fairness');
    return el && new Function('st', source)(JSON.parse(el.textContent));
  }, predicate, { timeout: 120_000, polling: 250 });
  try {
    await waitFor('return st.model !== null && st.frontier_solved === st.frontier_cells;');
    let st = await status(p.page, 'fairness');
    const labels = st.labels_pid;
    check(`${name}: masked example: global 0, local 1, all masked`,
      Math.abs(labels.global) < 1e-6 && Math.abs(labels.local - 1) < 1e-6 && Math.abs(labels.masked - 1) < 1e-6
        && Math.abs(labels.unique) < 1e-6 && Math.abs(labels.redundant) < 1e-6, JSON.stringify(labels));
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-masked-pid.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=fairness&view=frontier'; });
    await waitFor('return st.model !== null && st.frontier_solved === st.frontier_cells && st.frontier_wall_ms !== null && st.max_global > 0.3;');
    st = await status(p.page, 'fairness');
    check(`${name}: 20x20 limit solved without failures`, st.frontier_cells === 400 && st.frontier_failures === 0,
      `${st.frontier_solved}/${st.frontier_cells}, ${st.frontier_failures} failed`);
    check(`${name}: the limit is solved in the worker`, st.frontier_in_worker === true && st.frontier_error === null,
      `${st.frontier_error}`);
    console.log(`     ${name}: 20x20 frontier in ${st.frontier_wall_ms.toFixed(0)} ms wall, ${st.frontier_solve_ms.toFixed(0)} ms solving; one 2x2x2 PID ${st.labels_pid_ms.toFixed(2)} ms`);
    const m = st.model;
    check(`${name}: the model learns and sits at or below the limit`,
      m.accuracy > 0.8 && m.best_accuracy_at_model_budgets >= m.accuracy - 1e-6, JSON.stringify(m).slice(0, 300));
    check(`${name}: the model-specific limit lies between the model and AGLFOP's bound`,
      m.best_post_processing_at_model_budgets >= m.accuracy - 1e-5
        && m.best_post_processing_at_model_budgets <= m.best_accuracy_at_model_budgets + 1e-5, JSON.stringify(m).slice(0, 400));
    check(`${name}: held-out scores reported`, m.held_out && m.held_out.accuracy > 0.8, JSON.stringify(m.held_out));
    check(`${name}: the synergy split gives masked disparity (local above global)`,
      st.labels_pid.masked > 0.1 && st.labels_pid.local > st.labels_pid.global, JSON.stringify(st.labels_pid));
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-frontier.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=fairness&view=curves&lambda_local=20'; });
    await waitFor('return st.model !== null && st.model.lambda_local === 20 && st.curves_solved === 40 && st.model_specific_curves_solved === 40;');
    st = await status(p.page, 'fairness');
    check(`${name}: a local penalty lowers local disparity`, st.model.local_disparity < m.local_disparity,
      `${st.model.local_disparity} vs ${m.local_disparity}`);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-curves.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=fairness&view=training&lambda_local=20'; });
    await p.page.waitForTimeout(500);
    await p.page.screenshot({ path: path.join(shots, `${name}-training.png`) });
    // The paper's real data: the shipped ADULT tables, heterogeneous clients.
    await p.page.evaluate(() => { location.hash = '#lab=fairness&scenario=adult_heterogeneous&view=pid'; });
    await waitFor('return st.model !== null && st.model.lambda_local === null && st.frontier_solved === st.frontier_cells && st.max_global < 0.1;');
    st = await status(p.page, 'fairness');
    check(`${name}: ADULT, heterogeneous clients: the census model (about 85% accurate) and a mostly redundant global disparity`,
      st.model.accuracy > 0.84 && st.model.accuracy < 0.86 && st.model.held_out.accuracy > 0.84
        && st.model.pid.redundant > 0.9 * st.model.global_disparity && st.frontier_failures === 0,
      JSON.stringify(st.model).slice(0, 400));
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-adult-pid.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=fairness&scenario=adult_synergy&view=frontier'; });
    await waitFor('return st.model !== null && st.model.lambda_local === null && st.labels_pid.masked > 0.5 && st.frontier_solved === st.frontier_cells;');
    st = await status(p.page, 'fairness');
    check(`${name}: ADULT, synergy split: the limit solves and the model sits at or below it`,
      st.frontier_failures === 0 && st.model.best_accuracy_at_model_budgets >= st.model.accuracy - 1e-6,
      JSON.stringify(st.model).slice(0, 300));
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-adult-frontier.png`) });
  } catch (e) {
    check(`${name}: fairness lab`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The quantization lab: every method at every width on a matrix, SqueezeLLM (3 bits + sparse)
/// below round-to-nearest at 4 bits while storing fewer bits; the row, sparse and kernel views;
/// the kernel suite timed by clicking its button, every result checked against its reference.
async function quant(browser, base, name, link, expectGpu) {
  const p = await openPage(browser, `${base}#lab=quant&${link}`, name);
  const waitFor = (predicate, timeout = 240_000) => p.page.waitForFunction((source) => {
    if (getComputedStyle(document.getElementById('panic-box')).display !== 'none') return true;
    const el = document.getElementById('status-quant');
    return el && new Function('st', source)(JSON.parse(el.textContent));
  }, predicate, { timeout, polling: 500 });
  try {
    const t0 = Date.now();
    await waitFor('return st.sweep_total > 0 && st.sweep_done === st.sweep_total && st.detail !== null;');
    const st = await status(p.page, 'quant');
    console.log(`     ${name}: ${st.sweep_total} quantizations of ${st.matrix} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    check(`${name}: the sweep ran in the worker`, st.sweep_in_worker === true && st.sweep_error === null,
      `${st.sweep_error}`);
    const at = (series, bits) => st.sweep.find((q) => q.series.startsWith(series) && q.bits === bits);
    const sq3 = at('SqueezeLLM +', 3);
    const km3 = at('k-means', 3);
    const sqd3 = at('SqueezeLLM (weighted)', 3);
    // At the same code width, on held-out activations (MiniLM's own for a shipped matrix):
    // the paper's ordering. (Against RTN at 4 bits it depends on the matrix: on attn_query's
    // real activations RTN-4 wins, and the plot shows it.)
    const rtn3 = at('round-to-nearest (uniform)', 3);
    check(`${name}: SqueezeLLM 3-bit + sparse beats plain k-means and RTN at 3 bits, held out`,
      sq3.output_rel_error < km3.output_rel_error && sq3.output_rel_error < rtn3.output_rel_error,
      `${JSON.stringify(sq3)} vs ${JSON.stringify(km3)} and ${JSON.stringify(rtn3)}`);
    check(`${name}: activations are ${st.real_activations ? "MiniLM's own" : 'synthetic'} as the link says`,
      st.real_activations === !link.includes('matrix=synthetic'), `${st.real_activations}`);
    // Held out: the sensitivity is fitted on a calibration batch, the error measured on
    // another one, so the weighting has to generalise to win.
    check(`${name}: sensitivity weighting lowers the held-out output error at 3 bits`,
      sqd3.output_rel_error < km3.output_rel_error, `${sqd3.output_rel_error} vs ${km3.output_rel_error}`);
    check(`${name}: every point finite`, st.sweep.every((q) => Number.isFinite(q.output_rel_error) && q.bits_per_weight > 1),
      JSON.stringify(st.sweep.slice(0, 2)));
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-tradeoff.png`) });
    for (const view of ['row', 'sparse']) {
      await p.page.evaluate((v) => { location.hash = location.hash.replace(/view=[a-z]+/, `view=${v}`); }, view);
      await p.page.waitForTimeout(800);
      await p.page.screenshot({ path: path.join(shots, `${name}-${view}.png`) });
    }
    check(`${name}: a sparse part exists`, (await status(p.page, 'quant')).sparse_entries > 0);
    await p.page.evaluate(() => { location.hash = location.hash.replace(/view=[a-z]+/, 'view=model'); });
    await p.page.waitForTimeout(800);
    await p.page.screenshot({ path: path.join(shots, `${name}-model.png`) });
    const hm = (await status(p.page, 'quant')).heldout_model;
    check(`${name}: the whole-model held-out table is shown with its 3-bit verdict`,
      hm && hm.rows >= 20 && typeof hm.ordering_holds_3 === 'boolean', JSON.stringify(hm));
    await p.page.evaluate(() => { location.hash = location.hash.replace(/view=[a-z]+/, 'view=kernels'); });
    const [x, y] = await button(p.page, 'time-kernels');
    await p.page.mouse.click(x, y);
    await waitFor('return st.kernels && st.kernels.done;');
    const k = (await status(p.page, 'quant')).kernels;
    check(`${name}: 14 kernels timed on the ${expectGpu ? 'GPU' : 'CPU'}, all checked`,
      k.results.length === 14 && k.errors.length === 0 && k.summary.all_verified && k.summary.on_gpu === expectGpu,
      JSON.stringify(k).slice(0, 400));
    console.log(`     ${name}: ${k.results.map((r) => `${r.kernel} ${r.ms_median.toFixed(3)} ms`).join(', ')}`);
    console.log(`     ${name}: ${k.rows}x${k.cols} speed-up over f32: LUT-4 ${k.summary.speedup_lut4_vs_f32?.toFixed(2)}, LUT-3+sparse ${k.summary.speedup_lut3_sparse_vs_f32?.toFixed(2)}, Q4_0 ${k.summary.speedup_q4_0_vs_f32?.toFixed(2)}, bipolar GEMM 1x1 vs f32 GEMM ${k.summary.bipolar_gemm_1x1_vs_f32_gemm?.toFixed(2)}`);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-kernels.png`) });
  } catch (e) {
    check(`${name}: quant lab`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

/// The marginalization lab: the shipped 4x4 model (fetched) answers a painted query by MaM, the
/// autoregressive route and exactly; a click paints a site; the heat map batch (GPU where there
/// is one) agrees with the conditional pass; the gallery matches exact samples; the speed view
/// measures both routes; a 3x3 target (nothing shipped) trains in the page.
async function mam(browser, base, name, expectGpu) {
  const pattern = 'uu..d...........';
  const p = await openPage(browser, `${base}#lab=mam&size=4&pattern=${pattern}&view=sample`, name);
  const waitFor = (predicate, timeout = 120_000) => p.page.waitForFunction((source) => {
    if (getComputedStyle(document.getElementById('panic-box')).display !== 'none') return true;
    const el = document.getElementById('status-mam');
    return el && new Function('st', source)(JSON.parse(el.textContent));
  }, predicate, { timeout, polling: 300 });
  try {
    await waitFor(`return st.source === 'shipped' && st.log_p_exact !== null && st.observed === 3
      && st.arm_network === 'separate' ${expectGpu ? '&& st.gpu_heat_max_diff !== null' : ''};`);
    let st = await status(p.page, 'mam');
    check(`${name}: shipped 4x4 MaM and separately trained ARM answer close to exact`,
      Math.abs(st.log_p_model - st.log_p_exact) < 0.2 && Math.abs(st.log_p_arm - st.log_p_exact) < 0.2,
      `model ${st.log_p_model}, arm ${st.log_p_arm}, exact ${st.log_p_exact}`);
    if (expectGpu) {
      check(`${name}: GPU batch of D+1 marginals agrees with the conditional pass`,
        st.gpu_heat_max_diff < 0.1 && st.gpu_error === null, `${st.gpu_heat_max_diff} ${st.gpu_error}`);
    }
    const [x, y] = await button(p.page, 'mam_lattice');
    await p.page.mouse.click(x + 5, y + 5);
    await waitFor('return st.observed === 4;', 20_000);
    st = await status(p.page, 'mam');
    check(`${name}: a click paints a site`, st.observed === 4 && st.log_p_model < -1, JSON.stringify(st).slice(0, 200));
    await waitFor('return st.gallery && st.gallery.model_samples === 256 && st.gallery.reference_samples === 256 && st.sampling_done;');
    const g = (await status(p.page, 'mam')).gallery;
    check(`${name}: MaM samples match exact samples`,
      g.reference_is_exact && Math.abs(g.model_magnetisation - g.reference_magnetisation) < 0.15
        && Math.abs(g.model_correlation - g.reference_correlation) < 0.15, JSON.stringify(g));
    await waitFor('return st.gallery && st.gallery.exact_magnetisation !== null;');
    const ge = (await status(p.page, 'mam')).gallery;
    check(`${name}: the gallery's exact moments (transfer matrix) agree with the exact samples`,
      Math.abs(ge.exact_magnetisation - ge.reference_magnetisation) < 0.1
        && Math.abs(ge.exact_correlation - ge.reference_correlation) < 0.1, JSON.stringify(ge));
    await p.page.screenshot({ path: path.join(shots, `${name}-sample.png`) });
    await p.page.evaluate(() => { location.hash = location.hash.replace(/view=[a-z]+/, 'view=speed'); });
    const [mx, my] = await button(p.page, 'mam-measure');
    await p.page.mouse.click(mx, my);
    await waitFor(`return st.speed && st.speed.cpu.length === 6 && st.speed.cpu_batch_ms !== null
      ${expectGpu ? '&& st.speed.gpu_ms_arm && st.speed.gpu_ms_arm.length === 3' : ''};`);
    const sp = (await status(p.page, 'mam')).speed;
    const full = sp.cpu[sp.cpu.length - 1];
    check(`${name}: both routes timed, the autoregressive one slower at |S| = D`,
      full.observed === 16 && full.ms_arm > full.ms_mam && sp.gpu_error === null, JSON.stringify(sp).slice(0, 300));
    console.log(`     ${name}: |S| = 16: MaM ${(full.ms_mam * 1e3).toFixed(1)} µs, ARM ${(full.ms_arm * 1e3).toFixed(1)} µs (${(full.ms_arm / full.ms_mam).toFixed(1)}x)`);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-speed.png`) });
    await p.page.evaluate(() => { location.hash = '#lab=mam&size=3&view=train&train=true'; });
    await waitFor('return st.source === "trained" && st.training_steps > 300 && st.self_consistency !== null;');
    st = await status(p.page, 'mam');
    check(`${name}: a 3x3 target trains in the page`, st.self_consistency < 0.1 && st.kl_estimate !== null,
      `${st.training_steps} steps, sc ${st.self_consistency}, kl ${st.kl_estimate}`);
    check(`${name}: training runs in the worker`, st.training_in_worker === true && st.training_error === null,
      `${st.training_error}`);
    await p.page.screenshot({ path: path.join(shots, `${name}-train.png`) });
    // The top row painted +1: the exact route is the transfer matrix, run over frames.
    await p.page.evaluate(() => { location.hash = `#lab=mam&size=10&pattern=${'u'.repeat(10)}${'.'.repeat(90)}`; });
    await waitFor('return st.source === "shipped" && st.sampling_done && st.arm_network === "separate" && st.log_p_exact !== null;');
    st = await status(p.page, 'mam');
    check(`${name}: 10x10's exact log p by the transfer matrix, MaM and the ARM near it`,
      st.observed === 10 && Math.abs(st.log_p_model - st.log_p_exact) < 0.5
        && Math.abs(st.log_p_arm - st.log_p_exact) < 0.5,
      `MaM ${st.log_p_model} ARM ${st.log_p_arm} exact ${st.log_p_exact}`);
    await p.page.waitForTimeout(300);
    await p.page.screenshot({ path: path.join(shots, `${name}-10x10.png`) });
  } catch (e) {
    check(`${name}: marginalization lab`, false, String(e).slice(0, 200));
  }
  await finish(p);
}

// WebGPU run: a small synthetic matrix (the sweep is CPU work) and a small kernel problem
// (SwiftShader is slow); CPU run: the real MiniLM attention matrix, as a user first sees it.
// The kernel suite at the page's default size (2048 x 2048): the figure the quant issue's goal is
// about (LUT-4 at or above the f32 GEMV on SwiftShader), printed with the timings.
const QUANT_GPU_LINK = 'view=tradeoff&matrix=synthetic&rows=96&cols=256';
const QUANT_CPU_LINK = 'view=tradeoff&kernel_rows=512&kernel_cols=512';
const server = await serve();
const port = server.address().port;
const base = `http://127.0.0.1:${port}/`;
console.log(`serving ${dist} at ${base} and ${base}paperlab/`);

/// Each group gets its own browser: one check's crash or leak cannot take the next group with it.
/// If the browser itself goes away under a group (it did once in CI, in the offline check, with
/// nothing of the page's in the log), the group's results are set aside, that is said in the log,
/// and the group runs once more in a fresh browser; a second crash is a failure.
async function group(name, tags, flags, body) {
  if (process.env.ONLY && !tags.includes(process.env.ONLY)) return;
  const started = Date.now();
  for (let attempt = 1; attempt <= 2; attempt++) {
    const failuresBefore = failures.length;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: flags });
    let crashed = false;
    browser.on('disconnected', () => { crashed = true; });
    try {
      await body(browser);
    } catch (e) {
      if (!crashed) failures.push(`${name}: ${e.stack ?? e}`);
    }
    if (!crashed) {
      await browser.close();
      break;
    }
    failures.length = failuresBefore;
    if (attempt === 2) {
      check(`${name}: the browser stayed up`, false, 'it closed under the checks twice');
    } else {
      console.log(`!!   ${name}: the browser closed under the checks; the results above are set aside and the group runs again`);
    }
  }
  console.log(`--   ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const GPU = [...BASE_FLAGS, ...WEBGPU_FLAGS];
const PLAIN = BASE_FLAGS;
try {
  await group('self-test (WebGPU), at / and at a sub-path', ['selftest'], GPU, async (b) => {
    await selftest(b, `${base}?selftest=1#lab=device&${SMALL}`, 'webgpu-selftest', 'gpu');
    await selftest(b, `${base}paperlab/?selftest=1#lab=device&${SMALL}`, 'subpath-selftest', 'gpu');
  });
  await group('links, home, history, loading, exports, phone', ['keys', 'platform'], GPU, async (b) => {
    await links(b, base);
    await homeAndHistory(b, base);
    await loadProgress(b, base);
    await exports(b, base);
    await phone(b, base);
  });
  await group('offline reload', ['platform'], PLAIN, (b) => offline(b));
  await group('GFlowNets (WebGPU)', ['gfn', 'keys'], GPU, async (b) => {
    await gflownet(b, base, 'gfn-webgpu');
    await keyboard(b, base);
    await ocgfn(b, base, 'ocgfn-webgpu');
    await ocgfn4d(b, base, 'ocgfn-4d');
  });
  await group('bandits (WebGPU)', ['bandits'], GPU, (b) => bandits(b, base, 'bandits-webgpu', true));
  await group('quant (WebGPU)', ['quant'], GPU, (b) => quant(b, base, 'quant-webgpu', QUANT_GPU_LINK, true));
  await group('MaM (WebGPU)', ['mam'], GPU, (b) => mam(b, base, 'mam-webgpu', true));
  await group('self-test (CPU fallback)', ['selftest'], PLAIN,
    (b) => selftest(b, `${base}?selftest=1#lab=device&${SMALL}`, 'cpu-fallback-selftest', 'cpu'));
  await group('GFlowNets (CPU fallback)', ['gfn'], PLAIN, async (b) => {
    await gflownet(b, base, 'gfn-cpu-fallback');
    // Here the browser's long tasks run to 0.4-0.75 s of wall time, but a trace puts at most
    // ~27 ms of the main thread's CPU in any of them: the rest is waiting on the GPU process,
    // which draws WebGL in software. So each task's CPU is held to 50 ms, as below.
    await gflownetWorker(b, base, 'gfn-worker-cpu-fallback', '#lab=gfn&train=true', 50);
  });
  // The CPU compute path (?compute=cpu) in the browser that draws through WebGPU (SwiftShader):
  // the same bound, each main-thread task's CPU time held to 50 ms; wall time reported.
  await group('GFlowNets worker goal (CPU compute)', ['gfn'], GPU,
    (b) => gflownetWorker(b, base, 'gfn-worker-cpu-compute', '?compute=cpu#lab=gfn&train=true', 50));
  await group('bandits (CPU fallback)', ['bandits'], PLAIN, (b) => bandits(b, base, 'bandits-cpu-fallback', false));
  await group('fairness', ['fairness'], PLAIN, (b) => fairness(b, base, 'fairness'));
  await group('quant (CPU fallback)', ['quant'], PLAIN, (b) => quant(b, base, 'quant-cpu-fallback', QUANT_CPU_LINK, false));
  await group('MaM (CPU fallback)', ['mam'], PLAIN, (b) => mam(b, base, 'mam-cpu-fallback', false));
  if (process.env.ONLY) failures.push(`ONLY=${process.env.ONLY}: the other checks were not run`);
} catch (e) {
  failures.push(`harness: ${e.stack ?? e}`);
  console.error(e);
} finally {
  server.close();
}

if (failures.length > 0) {
  console.error(`\n${failures.length} browser check(s) failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log(`\nall browser checks passed; screenshots in ${shots}`);
