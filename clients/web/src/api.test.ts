import { describe, expect, it } from 'vitest';
import {
  ApiError,
  can,
  createBroadcast,
  deleteMessage,
  fieldErrors,
  getBroadcast,
  getMessages,
  likeMessage,
  likeStream,
  listBroadcasts,
  request,
  signIn,
  signOut,
  updateBroadcast,
  verifyEmail,
} from './api';
import { errorEnvelope, json, stubFetch } from './test/http';

describe('request', () => {
  it('unwraps results and sends the session cookie', async () => {
    const fetch = stubFetch(() => json(200, { results: { broadcastId: 7, title: 'Friday set' } }));
    const b = await getBroadcast(7);
    expect(b).toEqual({ broadcastId: 7, title: 'Friday set' });
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/v1/broadcasts/7');
    expect(init).toMatchObject({ method: 'GET', credentials: 'same-origin' });
  });

  it('sends JSON bodies with a JSON content type', async () => {
    const fetch = stubFetch(() => json(201, { results: { broadcastId: 3 } }));
    await createBroadcast({ title: 'Hello there', startAt: '2030-01-01T10:00:00.000Z', endAt: '2030-01-01T11:00:00.000Z' });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/v1/users/me/broadcasts');
    expect(init?.method).toBe('POST');
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(JSON.parse(init?.body as string)).toEqual({
      title: 'Hello there',
      startAt: '2030-01-01T10:00:00.000Z',
      endAt: '2030-01-01T11:00:00.000Z',
    });
  });

  it('returns undefined for an empty 204', async () => {
    stubFetch(() => new Response(null, { status: 204 }));
    await expect(signOut()).resolves.toBeUndefined();
  });

  it('turns the error envelope into an ApiError with its status and message', async () => {
    stubFetch(() => errorEnvelope(404, 'NotFound', 'There is no broadcast with id 7'));
    const err = await getBroadcast(7).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(404);
    expect((err as ApiError).statusText).toBe('NotFound');
    expect((err as ApiError).message).toBe('There is no broadcast with id 7');
  });

  it('gives a readable ApiError for a non-JSON error body', async () => {
    stubFetch(
      () =>
        new Response('<html><body><h1>502 Bad Gateway</h1></body></html>', {
          status: 502,
          statusText: 'Bad Gateway',
          headers: { 'Content-Type': 'text/html' },
        }),
    );
    const err = await request('GET', '/health').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(502);
    expect((err as ApiError).message).toMatch(/server had a problem/i);
    expect((err as ApiError).message).not.toContain('<html>');
  });

  it('gives an ApiError with status 0 when the network fails', async () => {
    stubFetch(() => {
      throw new TypeError('Failed to fetch');
    });
    const err = await getBroadcast(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(0);
    expect((err as ApiError).message).toMatch(/could not reach the server/i);
  });

  it('refuses a success body without results', async () => {
    stubFetch(() => json(200, { broadcastId: 7 }));
    await expect(getBroadcast(7)).rejects.toBeInstanceOf(ApiError);
  });
});

describe('endpoints', () => {
  it('signs in by email when the login has an @, by username otherwise', async () => {
    const fetch = stubFetch(() => json(200, { results: { username: 'dj' } }));
    await signIn('dj@example.com', 'secret-pass');
    await signIn(' dj_mix ', 'secret-pass');
    expect(fetch.mock.calls.map(([u, i]) => [u, i?.method, JSON.parse(i?.body as string)])).toEqual([
      ['/api/v1/sessions', 'POST', { email: 'dj@example.com', password: 'secret-pass' }],
      ['/api/v1/sessions', 'POST', { username: 'dj_mix', password: 'secret-pass' }],
    ]);
  });

  it('puts the confirmation token in the query, URL-encoded', async () => {
    const fetch = stubFetch(() => new Response(null, { status: 204 }));
    await verifyEmail('a+b/c=');
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/verification?token=a%2Bb%2Fc%3D');
    expect(fetch.mock.calls[0][1]?.method).toBe('POST');
  });

  it('asks for chat history with limit and cursor', async () => {
    const fetch = stubFetch(() => json(200, { results: { nextCursor: null, messages: [] } }));
    await getMessages(5, { limit: 20, nextCursor: 'abc_-1' });
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/broadcasts/5/messages?limit=20&nextCursor=abc_-1');
  });
});

describe('more endpoints', () => {
  it('sends artwork as multipart with the broadcast JSON beside it, and lets the browser set the boundary', async () => {
    const fetch = stubFetch(() => json(201, { results: { broadcastId: 3 } }));
    const art = new Blob(['png'], { type: 'image/png' });
    await createBroadcast({ title: 'Hello there', startAt: 'a', endAt: 'b' }, art);
    const init = fetch.mock.calls[0][1];
    expect(init?.body).toBeInstanceOf(FormData);
    const form = init?.body as FormData;
    expect(JSON.parse(form.get('broadcast') as string)).toEqual({ title: 'Hello there', startAt: 'a', endAt: 'b' });
    expect(form.get('artwork')).toBeInstanceOf(Blob);
    expect((init?.headers as Record<string, string>)['Content-Type']).toBeUndefined();
  });

  it('patches only the fields given, as JSON without artwork', async () => {
    const fetch = stubFetch(() => json(200, { results: { broadcastId: 3 } }));
    await updateBroadcast(3, { isVisible: true });
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/users/me/broadcasts/3');
    expect(fetch.mock.calls[0][1]?.method).toBe('PATCH');
    expect(JSON.parse(fetch.mock.calls[0][1]?.body as string)).toEqual({ isVisible: true });
  });

  it("reads a 429's Retry-After", async () => {
    stubFetch(() => json(429, { status: 429, statusText: 'TooManyRequests', message: 'Wait a little.' }, { headers: { 'Retry-After': '7' } }));
    const err = (await likeStream(7).catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBe(7);
    expect(err.message).toBe('Wait a little.');
  });

  it('uses the paths of API.md for likes, deletions and listings', async () => {
    const fetch = stubFetch(() => new Response(null, { status: 204 }));
    await likeStream(7);
    await likeMessage(7, 9, true);
    await likeMessage(7, 9, false);
    await deleteMessage(7, 9);
    await deleteMessage(7, 9, true);
    expect(fetch.mock.calls.map(([u, i]) => `${i?.method} ${u}`)).toEqual([
      'PUT /api/v1/broadcasts/7/stream/likes',
      'POST /api/v1/broadcasts/7/messages/9/likes',
      'DELETE /api/v1/broadcasts/7/messages/9/likes',
      'DELETE /api/v1/broadcasts/7/messages/9',
      'DELETE /api/v1/admin/broadcasts/7/messages/9',
    ]);
    stubFetch(() => json(200, { results: { nextCursor: null, broadcasts: [] } }));
    await listBroadcasts('future', { limit: 12, nextCursor: 'x' });
  });

  it('reads permissions', () => {
    const user = { permissions: { any_chat_message: ['delete'] } } as never;
    expect(can(user, 'any_chat_message', 'delete')).toBe(true);
    expect(can(user, 'any_user_account', 'read')).toBe(false);
    expect(can(null, 'any_chat_message', 'delete')).toBe(false);
  });
});

describe('fieldErrors', () => {
  it("splits the API's 400 message by the field each part names", () => {
    const msg = 'title must be 5 to 70 characters; startAt must be before endAt; a broadcast may last at most 12 hours';
    expect(fieldErrors(msg, ['title', 'description', 'startAt', 'endAt'])).toEqual({
      title: 'title must be 5 to 70 characters',
      startAt: 'startAt must be before endAt',
      '': 'a broadcast may last at most 12 hours',
    });
  });

  it('does not take a longer name for a shorter one', () => {
    expect(fieldErrors('username is taken', ['user', 'username'])).toEqual({ username: 'username is taken' });
  });
});
