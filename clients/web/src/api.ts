// A small typed wrapper around fetch for /api/v1. Success bodies are
// `{results: T}` (or empty for 202/204); errors are
// `{status, statusText, message}` and become an ApiError whose message is
// meant to be shown to the user as it is.

import type {
  Broadcast,
  ChatMessage,
  Id,
  MessagesPage,
  NewBroadcast,
  SignUpInput,
  User,
} from './types';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  readonly status: number;
  readonly statusText: string;

  constructor(status: number, message: string, statusText = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.statusText = statusText;
  }
}

/** Words for a failure whose body carried no usable message. */
function fallbackMessage(status: number): string {
  if (status === 401) return 'You need to sign in first.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'That is too large.';
  if (status === 429) return 'Too many requests: please wait a moment and try again.';
  if (status >= 500) return `The server had a problem (error ${status}). Please try again in a moment.`;
  return `The request failed (error ${status}).`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Calls `${API_BASE}${path}` with the session cookie and returns the
 * unwrapped `results` (undefined for an empty body). Throws ApiError on any
 * failure, including a network error (status 0).
 */
export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}`, init);
  } catch {
    throw new ApiError(0, 'Could not reach the server. Check your connection and try again.');
  }

  let text = '';
  try {
    text = await res.text();
  } catch {
    // A body that breaks off is treated like an empty one.
  }

  if (!res.ok) {
    const envelope = parseJson(text);
    if (isRecord(envelope) && typeof envelope.message === 'string' && envelope.message.trim()) {
      const statusText = typeof envelope.statusText === 'string' ? envelope.statusText : res.statusText;
      throw new ApiError(res.status, envelope.message, statusText);
    }
    throw new ApiError(res.status, fallbackMessage(res.status), res.statusText);
  }

  // 202 and 204 carry no payload by contract; whatever body they might have is ignored.
  if (res.status === 202 || res.status === 204 || text.trim() === '') return undefined as T;
  const envelope = parseJson(text);
  if (!isRecord(envelope) || !('results' in envelope)) {
    throw new ApiError(res.status, 'The server sent an answer this page cannot read.', res.statusText);
  }
  return envelope.results as T;
}

const seg = (id: Id) => encodeURIComponent(String(id));

// Accounts

export function signUp(input: SignUpInput): Promise<void> {
  const body: SignUpInput = { username: input.username, email: input.email, password: input.password };
  if (input.displayName && input.displayName.trim()) body.displayName = input.displayName.trim();
  return request<void>('POST', '/users', body);
}

export function verifyEmail(token: string): Promise<void> {
  return request<void>('POST', `/verification?token=${encodeURIComponent(token)}`);
}

/** Signs in by email when the login contains '@', by username otherwise. */
export function signIn(login: string, password: string): Promise<User> {
  const trimmed = login.trim();
  const body = trimmed.includes('@') ? { email: trimmed, password } : { username: trimmed, password };
  return request<User>('POST', '/sessions', body);
}

export function signOut(): Promise<void> {
  return request<void>('DELETE', '/sessions');
}

export function getMe(): Promise<User> {
  return request<User>('GET', '/users/me');
}

// Broadcasts

export function createBroadcast(input: NewBroadcast): Promise<Broadcast> {
  return request<Broadcast>('POST', '/users/me/broadcasts', input);
}

export function getBroadcast(id: Id): Promise<Broadcast> {
  return request<Broadcast>('GET', `/broadcasts/${seg(id)}`);
}

export function streamUrl(id: Id): string {
  return `${API_BASE}/broadcasts/${seg(id)}/stream`;
}

// Chat

export function getMessages(id: Id, opts: { limit?: number; nextCursor?: string | null } = {}): Promise<MessagesPage> {
  const q = new URLSearchParams({ limit: String(opts.limit ?? 20) });
  if (opts.nextCursor) q.set('nextCursor', opts.nextCursor);
  return request<MessagesPage>('GET', `/broadcasts/${seg(id)}/messages?${q.toString()}`);
}

export function postMessage(id: Id, message: string): Promise<ChatMessage> {
  return request<ChatMessage>('POST', `/broadcasts/${seg(id)}/messages`, { message });
}

/** A message of any thrown value, fit to show to the user. */
export function errorText(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong. Please try again.';
}
