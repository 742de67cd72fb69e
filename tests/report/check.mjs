// Opens each report page given on the command line in Debian's chromium (headless, no
// network) and checks: no console error, no request of any kind but the page itself, a fetch
// from the page refused by its Content-Security-Policy before any request is made, the
// charts laid out, and a full-page screenshot that is not blank. Run by check.sh.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';

const require = createRequire(join(process.env.REPORT_NODE_DIR, 'package.json'));
const { chromium } = require('playwright-core');

// Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) to its pixels, packed as 0xRRGGBB.
function pixels(png) {
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('ascii', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, color, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || (color !== 2 && color !== 6) || interlace !== 0) {
        throw new Error(`unexpected PNG: depth ${depth}, colour type ${color}`);
      }
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint32Array(width * height);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let p = 0;
      if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) {
        const e = a + b - c;
        const [da, db, dc] = [Math.abs(e - a), Math.abs(e - b), Math.abs(e - c)];
        p = da <= db && da <= dc ? a : db <= dc ? b : c;
      }
      line[i] = (line[i] + p) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const o = x * channels;
      out[y * width + x] = (line[o] << 16) | (line[o + 1] << 8) | line[o + 2];
    }
    prev = line;
  }
  return out;
}

// How much of the picture is not its most common colour, and how many colours it has.
function ink(png) {
  const counts = new Map();
  for (const p of pixels(png)) counts.set(p, (counts.get(p) || 0) + 1);
  let total = 0, top = 0;
  for (const n of counts.values()) {
    total += n;
    top = Math.max(top, n);
  }
  return { share: 1 - top / total, colours: counts.size };
}

async function check(context, file) {
  const problems = [];
  const url = pathToFileURL(resolve(file)).href;
  const requests = [];
  const errors = [];
  context.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  // Anything but the page itself is recorded above and refused here.
  await context.route('**/*', (route) =>
    route.request().url() === url ? route.continue() : route.abort());
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  if (errors.length) problems.push(`console errors: ${errors.join(' | ')}`);
  if (requests.length) problems.push(`network requests: ${requests.join(', ')}`);

  const layout = await page.evaluate(() => ({
    title: document.title,
    charts: [...document.querySelectorAll('svg.chart')].map((s) => s.getBoundingClientRect().height),
    figures: document.querySelectorAll('[data-f]').length,
    height: document.documentElement.scrollHeight,
  }));
  if (layout.title !== 'Nudge journey report') problems.push(`title ${layout.title}`);
  if (layout.charts.length < 3 || layout.charts.some((h) => h < 20)) {
    problems.push(`charts not laid out: ${JSON.stringify(layout.charts)}`);
  }
  if (layout.figures < 50) problems.push(`only ${layout.figures} figures`);

  const shot = await page.screenshot({ fullPage: true });
  const { share, colours } = ink(shot);
  if (share < 0.02 || colours < 16) {
    problems.push(`blank screenshot: ${(share * 100).toFixed(2)}% ink, ${colours} colours`);
  }

  // The policy itself: a fetch from the page must fail before any request is made.
  const before = requests.length;
  const refused = await page.evaluate(async () => {
    try {
      await fetch('http://127.0.0.1:9/probe');
      return false;
    } catch {
      return true;
    }
  });
  if (!refused || requests.length !== before) {
    problems.push('the Content-Security-Policy let a fetch through');
  }
  await page.close();
  await context.unroute('**/*');
  context.removeAllListeners('request');
  const status = problems.length ? 'FAIL' : 'ok';
  console.log(`${status} ${file}: ${layout.figures} figures, ${layout.charts.length} charts, ` +
    `${(share * 100).toFixed(1)}% ink, ${layout.height}px`);
  for (const p of problems) console.log(`  ${p}`);
  return problems.length === 0;
}

const files = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'nudge-report-chromium-'));
let passed = 0, failed = 0;
try {
  // playwright adds --headless itself; the rest keep the browser off the network.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  for (const file of files) {
    if (await check(context, file)) passed++;
    else failed++;
  }
  await context.close();
} finally {
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === files.length ? 0 : 1);
