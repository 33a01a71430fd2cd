// A tiny sequential test harness for the browser suite: named steps, each
// timed and reported; the closing line `N passed, N failed` is what CI reads.

const steps = [];

/** Registers a step; `needs` names earlier steps whose failure makes this one fail at once. */
export function step(name, fn, { needs = [] } = {}) {
  steps.push({ name, fn, needs });
}

export async function runSteps() {
  const failedNames = new Set();
  let passed = 0;
  let failed = 0;
  for (const s of steps) {
    const t0 = Date.now();
    const missing = s.needs.filter((n) => failedNames.has(n));
    try {
      if (missing.length) throw new Error(`not run: it needs ${missing.map((n) => `"${n}"`).join(', ')}, which failed`);
      await s.fn();
      passed += 1;
      console.log(`ok   ${s.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed += 1;
      failedNames.add(s.name);
      console.log(`FAIL ${s.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      console.log(String(err && err.stack ? err.stack : err).replace(/^/gm, '     '));
    }
  }
  return { passed, failed };
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (returned), or throws after `timeoutMs`. */
export async function waitFor(what, fn, timeoutMs = 20_000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}
