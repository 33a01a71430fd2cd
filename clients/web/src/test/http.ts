// Helpers for tests that stub the browser's fetch (the app's outer boundary).
import { vi } from 'vitest';

export function json(status: number, body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
    ...init,
  });
}

export function errorEnvelope(status: number, statusText: string, message: string): Response {
  return json(status, { status, statusText, message });
}

export type Route = (url: string, init: RequestInit) => Response | Promise<Response> | undefined;

/**
 * Stubs global fetch with a router: the first route that returns a Response
 * answers; an unmatched request fails the test loudly.
 */
export function stubFetch(...routes: Route[]) {
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    for (const r of routes) {
      const res = await r(url, init);
      if (res) return res;
    }
    throw new Error(`unexpected fetch ${init.method ?? 'GET'} ${url}`);
  });
  vi.stubGlobal('fetch', fn);
  return fn;
}

export function on(method: string, path: string, respond: (init: RequestInit) => Response): Route {
  return (url, init) => ((init.method ?? 'GET') === method && url === path ? respond(init) : undefined);
}
