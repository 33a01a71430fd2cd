// The web app end to end, in Debian's Chromium (headless, through playwright-core), against the real
// platform that `./dev test` started: a DJ signs up through the UI and the mail in maildev, sets up
// the account, schedules a broadcast and goes live with the source CLI's test tone; a listener in a
// second browser context sees LIVE without reloading, plays, chats and likes; a moderator removes a
// message; the stream ends and the recording plays and seeks. Screenshots go to e2e-artifacts/.
//
// Environment (from `./dev env test`): E2E_BASE_URL, E2E_MAILDEV_URL, E2E_SUPERADMIN_USERNAME,
// E2E_SUPERADMIN_PASSWORD; LIVESTREAMER_SOURCE_BIN (the CLI; default: the workspace's
// target/debug/livestreamer-source); E2E_CHROMIUM (default /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { assert, runSteps, sleep, step, waitFor } from './harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEB = resolve(HERE, '..');
const ROOT = resolve(WEB, '../..');
const ARTIFACTS = process.env.E2E_ARTIFACTS || join(WEB, 'e2e-artifacts');
const BASE = (process.env.E2E_BASE_URL || 'http://127.0.0.1:18080').replace(/\/$/, '');
const MAILDEV = (process.env.E2E_MAILDEV_URL || 'http://127.0.0.1:1180').replace(/\/$/, '');
const ADMIN_USER = process.env.E2E_SUPERADMIN_USERNAME || 'superadmin';
const ADMIN_PASSWORD = process.env.E2E_SUPERADMIN_PASSWORD || 'test stack superadmin';
const CLI =
  process.env.LIVESTREAMER_SOURCE_BIN ||
  join(process.env.CARGO_TARGET_DIR ? resolve(ROOT, process.env.CARGO_TARGET_DIR) : join(ROOT, 'target'), 'debug', 'livestreamer-source');
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'a long enough secret';
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 800 };

const figures = {};
const consoleErrors = [];
// Failures the suite provokes on purpose (the browser logs every 4xx of a fetch as a console error).
// An entry with `while` is expected only while that holds.
const expectedHttpErrors = [{ status: 401, path: '/api/v1/users/me' }];

function unique(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 2 + 16 - prefix.length)}`.slice(0, 16);
}

/** Each simulated person comes from an address of their own, so per-address rate limits count them apart. */
function randomAddress() {
  const b = () => 1 + Math.floor(Math.random() * 250);
  return `10.${b()}.${b()}.${b()}`;
}

function isExpected(msg) {
  // A fetch: "... responded with a status of 404 ..." at the resource's URL; a WebSocket: "WebSocket
  // connection to 'ws://…/ws/7' failed: … Unexpected response code: 404" at the script's URL.
  const fetched = /status of (\d{3})/.exec(msg.text);
  const socket = /WebSocket connection to '([^']+)' failed: .*response code: (\d{3})/.exec(msg.text);
  const [status, url] = fetched ? [fetched[1], msg.url] : socket ? [socket[2], socket[1]] : [];
  if (!status || !url) return false;
  const path = new URL(url, BASE).pathname;
  return expectedHttpErrors.some(
    (e) => e.status === Number(status) && path.startsWith(e.path) && (e.while?.() ?? true),
  );
}

let browser;
const cleanups = [];

async function newPerson(label) {
  const context = await browser.newContext({
    baseURL: BASE,
    viewport: LAPTOP,
    extraHTTPHeaders: { 'x-forwarded-for': randomAddress() },
  });
  const page = await context.newPage();
  const watch = (p) => {
    p.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const entry = { who: label, text: msg.text(), url: msg.location()?.url ?? '' };
      if (!isExpected(entry)) consoleErrors.push(entry);
    });
    p.on('pageerror', (err) => consoleErrors.push({ who: label, text: `uncaught: ${err.message}`, url: p.url() }));
  };
  watch(page);
  context.on('page', watch);
  return { label, context, page };
}

async function mailTo(address, subject) {
  return waitFor(`the mail "${subject}" to ${address}`, async () => {
    const res = await fetch(`${MAILDEV}/api/email`);
    const mails = await res.json();
    return mails
      .reverse()
      .find((m) => m.subject === subject && (m.to || []).some((t) => t.address === address));
  });
}

function linkIn(mail, path) {
  const text = mail.text || '';
  const i = text.indexOf(path);
  assert(i >= 0, `no ${path} link in the mail: ${text}`);
  const token = /token=([A-Za-z0-9_\-.~%]+)/.exec(text.slice(i))?.[1];
  assert(token, `no token in the ${path} link`);
  return `${path}?token=${token}`;
}

/** Signs up through the API (the UI sign-up is tested with the DJ), confirms, and signs in the context. */
async function signUpByApi(person, username) {
  const email = `${username}@example.com`;
  const req = person.context.request;
  const res = await req.post('/api/v1/users', { data: { username, email, password: PASSWORD } });
  assert(res.status() === 202, `sign-up answered ${res.status()}: ${await res.text()}`);
  const link = linkIn(await mailTo(email, 'Confirm your email address'), '/verify');
  const confirm = await req.post(`/api/v1/verification?${link.split('?')[1]}`);
  assert(confirm.status() === 204, `confirmation answered ${confirm.status()}`);
  const signIn = await req.post('/api/v1/sessions', { data: { username, password: PASSWORD } });
  assert(signIn.status() === 200, `sign-in answered ${signIn.status()}: ${await signIn.text()}`);
  return { username, email };
}

/** Fills and sends the sign-in form; done when the header names the user. */
async function signInWithForm(page, login, password, username) {
  await page.getByLabel('Username or email', { exact: true }).fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`@${username}`).waitFor();
}

async function screenshot(page, name) {
  for (const [size, viewport] of [
    ['phone', PHONE],
    ['laptop', LAPTOP],
  ]) {
    await page.setViewportSize(viewport);
    await sleep(300);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(LAPTOP);
}

function runCli(args, { env = {}, capture = true } = {}) {
  const child = spawn(CLI, ['--server', BASE, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'ignore'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const done = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal, output })));
  return { child, done, output: () => output };
}

// --- the scenario -------------------------------------------------------------------------------

let dj;
let listener;
let moderator;
let djName;
let listenerName;
let broadcastId;
let cliHome;
let stream;

step('the initial JavaScript is under 150 KB gzipped', async () => {
  const html = readFileSync(join(WEB, 'dist', 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  assert(files.length > 0, 'no script in dist/index.html: is the app built?');
  const bytes = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(WEB, 'dist', f)), { level: 9 }).length, 0);
  figures.initialJsGzipKB = +(bytes / 1024).toFixed(1);
  console.log(`     initial JS: ${files.join(', ')} = ${figures.initialJsGzipKB} KB gzipped`);
  assert(bytes < 150 * 1024, `the initial JavaScript is ${figures.initialJsGzipKB} KB gzipped`);
});

step('a DJ signs up, confirms through the mail in maildev, and signs in', async () => {
  dj = await newPerson('dj');
  djName = unique('dj');
  const email = `${djName}@example.com`;
  const { page } = dj;
  await page.goto('/signup');
  await page.getByLabel('Username', { exact: true }).fill(djName);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Display name (optional)', { exact: true }).fill('DJ Test Tone');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();

  const link = linkIn(await mailTo(email, 'Confirm your email address'), '/verify');
  await page.goto(link);
  await page.getByText('Email confirmed, you can sign in.').waitFor();

  await page.getByRole('link', { name: 'Sign in' }).first().click();
  await signInWithForm(page, email, PASSWORD, djName);
});

step(
  'account settings: profile, picture, stream key shown, copied and rotated',
  async () => {
    const { page, context } = dj;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('About you', { exact: true }).fill('Plays <b>sine waves</b> & nothing else');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Saved.').waitFor();

    await page.getByLabel('Choose a picture', { exact: true }).setInputFiles(join(HERE, 'fixtures', 'artwork.png'));
    await page.getByAltText('Preview of the new picture').waitFor();
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await page.getByAltText('Your current picture').waitFor();

    await page.getByRole('button', { name: 'Create a stream key' }).click();
    const key = await page.getByLabel('Your new stream key (shown only now)', { exact: true }).inputValue();
    assert(key.length >= 16, `a short stream key: ${key}`);
    await page.getByRole('button', { name: 'Copy key' }).click();
    await page.getByText('Copied.').first().waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert(copied === key, 'the clipboard does not hold the key');
    const ffmpeg = await page.locator('.recipe pre').first().textContent();
    assert(ffmpeg.includes(`${key}@`) && ffmpeg.includes(`/live/${djName}`), `ffmpeg settings without the key: ${ffmpeg}`);

    await page.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByRole('button', { name: 'Yes, rotate' }).click();
    await waitFor('a new key', async () => (await page.getByLabel(/Your new stream key/).inputValue()) !== key);
  },
  { needs: ['a DJ signs up, confirms through the mail in maildev, and signs in'] },
);

step(
  "the dashboard shows the API's validation inline, schedules with artwork, edits, hides and publishes",
  async () => {
    const { page } = dj;
    await page.getByRole('link', { name: 'Dashboard' }).click();
    const form = page.locator('form.broadcast-form').first();
    await form.getByLabel('Title', { exact: true }).fill('Hey');
    await form.getByLabel('Ends', { exact: true }).fill('2020-01-01T10:00');
    expectedHttpErrors.push({ status: 400, path: '/api/v1/users/me/broadcasts' });
    await form.getByRole('button', { name: 'Schedule' }).click();
    await form.locator('.field-error', { hasText: /^title/ }).waitFor();
    await form.locator('.field-error', { hasText: /^startAt must be before endAt/ }).waitFor();
    assert((await form.getByLabel('Title', { exact: true }).getAttribute('aria-invalid')) === 'true', 'the title is not marked invalid');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-invalid'));
    assert(focused === 'true', 'the focus is not on the first invalid field');

    // A window that starts now: the CLI streams into it.
    const pad = (n) => String(n).padStart(2, '0');
    const local = (d) =>
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const now = new Date();
    await form.getByLabel('Title', { exact: true }).fill('Sine waves at dusk');
    await form.getByLabel('Description (optional)', { exact: true }).fill('A 440 Hz tone, <script>alert(1)</script> and friends.');
    await form.getByLabel('Starts', { exact: true }).fill(local(now));
    await form.getByLabel('Ends', { exact: true }).fill(local(new Date(now.getTime() + 2 * 3600_000)));
    await form.getByLabel('Artwork (optional)', { exact: true }).setInputFiles(join(HERE, 'fixtures', 'artwork.png'));
    await form.getByAltText('Preview of the chosen artwork').waitFor();
    await form.getByRole('button', { name: 'Schedule' }).click();
    const link = page.getByRole('status').getByRole('link', { name: 'Sine waves at dusk' });
    await link.waitFor();
    broadcastId = (await link.getAttribute('href')).split('/').pop();

    const item = page.locator(`li[data-broadcast-id="${broadcastId}"]`);
    await item.getByRole('button', { name: /^Edit/ }).click();
    await item.getByLabel('Title', { exact: true }).fill('Sine waves at dusk (live)');
    await item.getByRole('button', { name: 'Save changes' }).click();
    await item.getByRole('link', { name: 'Sine waves at dusk (live)' }).waitFor();
    assert(
      (await item.locator('img.artwork').getAttribute('src')).includes(`/broadcasts/${broadcastId}/artwork/`),
      'the artwork was not stored',
    );
    await item.getByRole('button', { name: /^Hide/ }).click();
    await item.getByText('Hidden', { exact: true }).waitFor();
    await item.getByRole('button', { name: /^Publish/ }).click();
    await item.getByText('Public', { exact: true }).waitFor();
  },
  { needs: ['a DJ signs up, confirms through the mail in maildev, and signs in'] },
);

const SCHEDULED = "the dashboard shows the API's validation inline, schedules with artwork, edits, hides and publishes";

step(
  'a listener opens the broadcast page before it is live',
  async () => {
    listener = await newPerson('listener');
    listenerName = unique('fan');
    await signUpByApi(listener, listenerName);
    const { page } = listener;
    await page.goto(`/broadcasts/${broadcastId}`);
    await page.getByRole('heading', { name: 'Sine waves at dusk (live)' }).waitFor();
    assert((await page.getByTestId('live-badge').textContent()) === 'Off air', 'not off air before the stream');
    // User text stays text.
    await page.getByText('<script>alert(1)</script>', { exact: false }).waitFor();
  },
  { needs: [SCHEDULED] },
);

const LISTENING = 'a listener opens the broadcast page before it is live';

step(
  'the DJ goes live with the CLI --tone; the listener sees LIVE without a reload',
  async () => {
    assert(existsSync(CLI), `the source CLI is not built: ${CLI}`);
    cliHome = mkdtempSync(join(tmpdir(), 'ls-web-e2e-'));
    const env = { XDG_CONFIG_HOME: cliHome, BROADCASTER_USERNAME: djName, BROADCASTER_PASSWORD: PASSWORD };
    // The sign-in limit per address may still be spent by the Rust suite that ran just before.
    await waitFor(
      'the CLI to sign in',
      async () => {
        const r = await runCli(['login'], { env }).done;
        if (r.code !== 0) console.log(`     login exited ${r.code}: ${r.output.trim()}`);
        return r.code === 0;
      },
      90_000,
      5000,
    );
    const navigationsBefore = await listener.page.evaluate(() => performance.getEntriesByType('navigation').length);
    const t0 = Date.now();
    stream = runCli(['stream', broadcastId, '--tone', '440', '--quiet'], { env });
    cleanups.push(() => stream.child.kill('SIGKILL'));
    const { page } = listener;
    await waitFor('LIVE on the listener page', async () => (await page.getByTestId('live-badge').textContent()) === 'LIVE', 20_000);
    figures.cliStartToLiveBadgeMs = Date.now() - t0;
    const navigationsAfter = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    assert(navigationsAfter === navigationsBefore, 'the page reloaded');
    assert(stream.child.exitCode === null, `the CLI exited: ${stream.output()}`);
  },
  { needs: [LISTENING] },
);

const LIVE = 'the DJ goes live with the CLI --tone; the listener sees LIVE without a reload';

step(
  'the listener presses play: currentTime advances with no media error',
  async () => {
    const { page } = listener;
    // Press play on a stream that has been on air a few seconds, as a listener arriving would:
    // the relay's burst of recent audio is then there to start from.
    await sleep(4000);
    await page.evaluate(() => {
      const audio = document.querySelector('audio');
      const probe = { t0: 0, t1: 0, error: null };
      window.__probe = probe;
      document
        .querySelector('[data-testid=play]')
        .addEventListener('pointerdown', () => (probe.t0 = performance.now()), { capture: true, once: true });
      audio.addEventListener('timeupdate', () => {
        if (audio.currentTime > 0 && !probe.t1) probe.t1 = performance.now();
      });
      audio.addEventListener('error', () => (probe.error = audio.error ? audio.error.code : -1));
    });
    await page.getByRole('button', { name: /^Play .* live$/ }).click();
    await page.waitForFunction(() => window.__probe.t1 > 0 || window.__probe.error !== null, null, { timeout: 15_000 });
    const probe = await page.evaluate(() => window.__probe);
    assert(probe.error === null, `media error ${probe.error}`);
    figures.playToCurrentTimeMs = Math.round(probe.t1 - probe.t0);
    const first = await page.evaluate(() => document.querySelector('audio').currentTime);
    await sleep(2000);
    const later = await page.evaluate(() => ({ t: document.querySelector('audio').currentTime, e: document.querySelector('audio').error }));
    assert(later.e === null, 'a media error while playing');
    assert(later.t > first + 1, `currentTime went from ${first} to ${later.t} in 2 s`);
    await waitFor('the listener count', async () => /[1-9]\d* listeners?/.test(await page.getByTestId('listener-count').textContent()), 10_000);
    assert(figures.playToCurrentTimeMs < 1000, `play to currentTime > 0 took ${figures.playToCurrentTimeMs} ms`);
  },
  { needs: [LIVE] },
);

step(
  'the DJ and the listener chat both ways, like messages and the stream, and delete their own',
  async () => {
    await dj.page.goto(`/broadcasts/${broadcastId}`);
    const djLog = dj.page.getByRole('log', { name: 'Chat messages' });
    const fanLog = listener.page.getByRole('log', { name: 'Chat messages' });
    await listener.page.getByTestId('room-count').getByText('2 people here').waitFor();

    await listener.page.getByLabel('Message', { exact: true }).fill('hello from the dance floor <img src=x onerror=alert(1)>');
    await listener.page.getByRole('button', { name: 'Send' }).click();
    await djLog.getByText('hello from the dance floor <img src=x onerror=alert(1)>').waitFor();
    assert((await dj.page.locator('.chat-list img').count()) === 0, 'user text was rendered as HTML');

    await dj.page.getByLabel('Message', { exact: true }).fill('thanks for listening!');
    await dj.page.getByRole('button', { name: 'Send' }).click();
    await fanLog.getByText('thanks for listening!').waitFor();

    await listener.page.getByRole('button', { name: `Like the message from ${djName} (0 likes)` }).click();
    await dj.page.getByRole('button', { name: `Like the message from ${djName} (1 like)` }).waitFor();

    // Who is here: both names.
    await listener.page.getByTestId('room-count').click();
    await listener.page.getByRole('list', { name: 'Who is here' }).getByText(djName).waitFor();

    // The stream like, its cooldown, and the DJ's count.
    const likes = async (p) => Number((await p.locator('#like-count').textContent()).split(' ')[0]);
    const before = await likes(dj.page);
    await listener.page.getByRole('button', { name: 'Like', exact: true }).click();
    await listener.page.getByTestId('like-cooldown').waitFor();
    assert(/again in (10|9) s/.test(await listener.page.getByTestId('like-cooldown').textContent()), 'no cooldown shown');
    assert(await listener.page.getByRole('button', { name: 'Like', exact: true }).isDisabled(), 'the like button is not waiting');
    await waitFor('the like on the DJ page', async () => (await likes(dj.page)) === before + 1, 10_000);

    await dj.page.getByLabel('Message', { exact: true }).fill('a message to take back');
    await dj.page.getByRole('button', { name: 'Send' }).click();
    await fanLog.getByText('a message to take back').waitFor();
    await djLog.locator('li', { hasText: 'a message to take back' }).getByRole('button', { name: 'Delete your message' }).click();
    await fanLog.getByText('a message to take back').waitFor({ state: 'detached' });
  },
  { needs: [LIVE] },
);

step(
  'a moderator removes a message; the admin page lists the users',
  async () => {
    moderator = await newPerson('moderator');
    const res = await moderator.context.request.post('/api/v1/sessions', {
      data: { username: ADMIN_USER, password: ADMIN_PASSWORD },
    });
    assert(res.status() === 200, `the superadmin's sign-in answered ${res.status()}`);
    const { page } = moderator;
    await page.goto(`/broadcasts/${broadcastId}`);
    await page
      .getByRole('log', { name: 'Chat messages' })
      .getByRole('button', { name: `Remove the message from ${listenerName}` })
      .first()
      .click();
    await listener.page
      .getByRole('log', { name: 'Chat messages' })
      .getByText('hello from the dance floor', { exact: false })
      .waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('table').getByRole('link', { name: djName }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'admin-laptop.png'), fullPage: true });
  },
  { needs: [LIVE] },
);

step(
  'screenshots of home, broadcast (live), dashboard and account at phone and laptop widths',
  async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await screenshot(listener.page, 'broadcast-live');
    await listener.page.goto('/');
    await listener.page.getByRole('heading', { name: 'Live now' }).waitFor();
    await listener.page.locator('.bcard', { hasText: 'Sine waves at dusk (live)' }).first().waitFor();
    await listener.page.waitForLoadState('networkidle');
    await screenshot(listener.page, 'home');
    await dj.page.goto('/dashboard');
    await dj.page.locator(`li[data-broadcast-id="${broadcastId}"]`).waitFor();
    await dj.page.waitForLoadState('networkidle');
    await screenshot(dj.page, 'dashboard');
    await dj.page.goto('/settings');
    await dj.page.getByRole('heading', { name: 'Stream key' }).waitFor();
    await dj.page.waitForLoadState('networkidle');
    await screenshot(dj.page, 'account');
    // Back on the broadcast page for the end.
    await listener.page.goto(`/broadcasts/${broadcastId}`);
    await listener.page.getByTestId('live-badge').getByText('LIVE').waitFor();
  },
  { needs: [LIVE] },
);

step(
  'the stream ends; once published, the recording plays and seeks',
  async () => {
    // From the end until the owner publishes it, the broadcast is hidden: a page that refetches it
    // then (the listener's socket opening as the stream ends, say) is rightly told 404.
    let hidden = true;
    for (const path of [`/api/v1/broadcasts/${broadcastId}`, `/ws/${broadcastId}`]) {
      expectedHttpErrors.push({ status: 404, path, while: () => hidden });
    }
    stream.child.kill('SIGINT');
    const r = await stream.done;
    assert(r.code === 0, `the CLI exited ${r.code} ${r.signal ?? ''}: ${r.output}`);
    const { page } = listener;
    await waitFor('Off air on the listener page', async () => (await page.getByTestId('live-badge').textContent()) === 'Off air', 30_000);
    await page.getByText('Ended', { exact: true }).waitFor();

    // An ended broadcast is hidden until its owner publishes it.
    await dj.page.goto('/dashboard');
    const item = dj.page.locator(`li[data-broadcast-id="${broadcastId}"]`);
    await item.getByRole('button', { name: /^Publish/ }).click({ timeout: 30_000 });
    await item.getByText('Public', { exact: true }).waitFor();
    hidden = false;

    await waitFor(
      'the recording on the listener page',
      async () => {
        await page.reload();
        await page.getByRole('heading', { name: 'Sine waves at dusk (live)' }).waitFor();
        return (await page.getByTestId('recording').count()) > 0;
      },
      30_000,
      2000,
    );
    const result = await page.evaluate(async () => {
      const a = document.querySelector('[data-testid=recording]');
      const wait = (ev) => new Promise((res, rej) => {
        a.addEventListener(ev, res, { once: true });
        a.addEventListener('error', () => rej(new Error(`media error ${a.error?.code}`)), { once: true });
      });
      if (a.readyState < 1) await wait('loadedmetadata');
      a.muted = true;
      await a.play();
      while (a.currentTime === 0) await new Promise((r) => setTimeout(r, 50));
      const target = Math.max(1, Math.min(5, a.duration - 2));
      const seeked = wait('seeked');
      a.currentTime = target;
      await seeked;
      const at = a.currentTime;
      await new Promise((r) => setTimeout(r, 1000));
      return { duration: a.duration, target, at, after: a.currentTime, error: a.error?.code ?? null };
    });
    figures.recording = result;
    assert(result.error === null, `media error ${result.error}`);
    assert(Math.abs(result.at - result.target) < 0.5, `seeked to ${result.at}, not ${result.target}`);
    assert(result.after > result.at, 'the recording did not play on after seeking');
  },
  { needs: [LIVE] },
);

step(
  'forgot and reset password through the mail, then the account is deleted with confirmation',
  async () => {
    const { page } = listener;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email', { exact: true }).fill(`${listenerName}@example.com`);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await page.getByText('a link to choose a new password is on its way', { exact: false }).waitFor();
    const link = linkIn(await mailTo(`${listenerName}@example.com`, 'Reset your password'), '/reset-password');
    await page.goto(link);
    const newPassword = 'another long secret';
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Repeat the new password', { exact: true }).fill(newPassword);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await page.getByText('Your password is changed').waitFor();
    await page.getByRole('link', { name: 'Sign in' }).last().click();
    await signInWithForm(page, listenerName, newPassword, listenerName);

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Delete my account…' }).click();
    const confirm = page.getByRole('button', { name: 'Delete my account for good' });
    assert(await confirm.isDisabled(), 'deletion is possible without typing the username');
    await page.getByLabel(/Type your username/).fill(listenerName);
    await confirm.click();
    await page.getByRole('link', { name: 'Sign up' }).first().waitFor();
    const me = await listener.context.request.get('/api/v1/users/me');
    assert(me.status() === 401, `after deletion GET /users/me answered ${me.status()}`);
  },
  { needs: [LISTENING] },
);

step('no console errors in any page of the run', async () => {
  for (const e of consoleErrors) console.log(`     [${e.who}] ${e.text} ${e.url}`);
  assert(consoleErrors.length === 0, `${consoleErrors.length} console error(s)`);
});

// --- run ----------------------------------------------------------------------------------------

rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });
console.log(`web e2e: ${BASE} (maildev ${MAILDEV}), chromium ${CHROMIUM}, CLI ${CLI}`);
browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // playwright-core gives each launch a fresh temporary --user-data-dir.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
  ],
});
let result;
try {
  result = await runSteps();
} finally {
  for (const c of cleanups) {
    try {
      c();
    } catch {
      // already gone
    }
  }
  await browser.close().catch(() => undefined);
  if (cliHome) rmSync(cliHome, { recursive: true, force: true });
}
console.log(`figures: ${JSON.stringify(figures)}`);
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed === 0 ? 0 : 1);
