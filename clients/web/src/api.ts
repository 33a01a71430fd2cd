// A small typed wrapper around fetch for /api/v1. Success bodies are
// `{results: T}` (or empty for 202/204); errors are
// `{status, statusText, message}` and become an ApiError whose message is
// meant to be shown to the user as it is.

import type {
  Broadcast,
  BroadcastChanges,
  BroadcastsPage,
  ChatMessage,
  GroupedBroadcasts,
  Id,
  MessagesPage,
  NewBroadcast,
  ProfileChanges,
  PublicProfile,
  SignUpInput,
  StreamKey,
  TimeGroup,
  User,
  UsersPage,
} from './types';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  readonly status: number;
  readonly statusText: string;
  /** Seconds from a 429's `Retry-After`, when it had one. */
  readonly retryAfter: number | null;

  constructor(status: number, message: string, statusText = '', retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.statusText = statusText;
    this.retryAfter = retryAfter;
  }
}

function retryAfterOf(res: Response): number | null {
  const raw = res.headers.get('Retry-After');
  if (raw === null) return null;
  const secs = Number(raw);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Words for a failure whose body carried no usable message. */
function fallbackMessage(status: number): string {
  if (status === 401) return 'You need to sign in first.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'Not found.';
  if (status === 409) return 'That conflicts with something that already exists.';
  if (status === 410) return 'That is gone: the stream is offline or the link expired.';
  if (status === 413) return 'That is too large.';
  if (status === 415) return 'That kind of file is not accepted.';
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
  if (body instanceof FormData) {
    // The browser writes the multipart Content-Type with its boundary.
    init.body = body;
  } else if (body !== undefined) {
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
    const retryAfter = retryAfterOf(res);
    if (isRecord(envelope) && typeof envelope.message === 'string' && envelope.message.trim()) {
      const statusText = typeof envelope.statusText === 'string' ? envelope.statusText : res.statusText;
      throw new ApiError(res.status, envelope.message, statusText, retryAfter);
    }
    throw new ApiError(res.status, fallbackMessage(res.status), res.statusText, retryAfter);
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

export function updateMe(changes: ProfileChanges): Promise<User> {
  return request<User>('PATCH', '/users/me', changes);
}

export function deleteMe(): Promise<void> {
  return request<void>('DELETE', '/users/me');
}

/** Always 202, whether or not the address has an account. */
export function requestPasswordReset(email: string): Promise<void> {
  return request<void>('PATCH', '/users/me/settings/password', { email: email.trim() });
}

export function resetPassword(token: string, newPassword: string): Promise<void> {
  return request<void>('PATCH', '/users/me/settings/password', { token, newPassword });
}

function formWith(name: string, file: Blob): FormData {
  const form = new FormData();
  form.append(name, file);
  return form;
}

export function setProfilePicture(picture: Blob): Promise<User> {
  return request<User>('PUT', '/users/me/profile-picture', formWith('picture', picture));
}

export function deleteProfilePicture(): Promise<User> {
  return request<User>('DELETE', '/users/me/profile-picture');
}

export function getStreamKey(): Promise<StreamKey> {
  return request<StreamKey>('GET', '/users/me/stream-key');
}

export function rotateStreamKey(): Promise<StreamKey> {
  return request<StreamKey>('POST', '/users/me/stream-key');
}

export function getPublicProfile(username: string): Promise<PublicProfile> {
  return request<PublicProfile>('GET', `/users/${encodeURIComponent(username)}`);
}

type PageOptions = { limit?: number; nextCursor?: string | null };

function pageQuery(opts: PageOptions, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams(extra);
  q.set('limit', String(opts.limit ?? 20));
  if (opts.nextCursor) q.set('nextCursor', opts.nextCursor);
  return q.toString();
}

export function listUsers(opts: PageOptions = {}): Promise<UsersPage> {
  return request<UsersPage>('GET', `/admin/users?${pageQuery(opts)}`);
}

export function changeRole(userId: Id, role: string) {
  return request<unknown>('PATCH', `/admin/users/${seg(userId)}/role`, { role });
}

// Broadcasts

/** JSON, or multipart (`broadcast` JSON + `artwork`) when there is an image. */
function broadcastBody(fields: object, artwork?: Blob | null): unknown {
  if (!artwork) return fields;
  const form = new FormData();
  form.append('broadcast', JSON.stringify(fields));
  form.append('artwork', artwork);
  return form;
}

export function createBroadcast(input: NewBroadcast, artwork?: Blob | null): Promise<Broadcast> {
  return request<Broadcast>('POST', '/users/me/broadcasts', broadcastBody(input, artwork));
}

export function updateBroadcast(id: Id, changes: BroadcastChanges, artwork?: Blob | null): Promise<Broadcast> {
  return request<Broadcast>('PATCH', `/users/me/broadcasts/${seg(id)}`, broadcastBody(changes, artwork));
}

export function deleteBroadcast(id: Id): Promise<void> {
  return request<void>('DELETE', `/users/me/broadcasts/${seg(id)}`);
}

export function getBroadcast(id: Id): Promise<Broadcast> {
  return request<Broadcast>('GET', `/broadcasts/${seg(id)}`);
}

export function listLive(): Promise<Broadcast[]> {
  return request<Broadcast[]>('GET', '/broadcasts/live');
}

export function listBroadcasts(time: TimeGroup, opts: PageOptions = {}): Promise<BroadcastsPage> {
  return request<BroadcastsPage>('GET', `/broadcasts?${pageQuery(opts, { time })}`);
}

export function getUserBroadcasts(username: string): Promise<GroupedBroadcasts> {
  return request<GroupedBroadcasts>('GET', `/users/${encodeURIComponent(username)}/broadcasts`);
}

export function getMyBroadcasts(): Promise<GroupedBroadcasts> {
  return request<GroupedBroadcasts>('GET', '/users/me/broadcasts');
}

/** One like of a live broadcast; 429 (with retryAfter) within 10 s of the last one. */
export function likeStream(id: Id): Promise<void> {
  return request<void>('PUT', `/broadcasts/${seg(id)}/stream/likes`);
}

export function streamUrl(id: Id): string {
  return `${API_BASE}/broadcasts/${seg(id)}/stream`;
}

export function recordingUrl(b: Pick<Broadcast, 'broadcastId' | 'recordingUrl'>): string {
  return b.recordingUrl || `${API_BASE}/broadcasts/${seg(b.broadcastId)}/recording`;
}

// Chat

export function getMessages(id: Id, opts: PageOptions = {}): Promise<MessagesPage> {
  return request<MessagesPage>('GET', `/broadcasts/${seg(id)}/messages?${pageQuery(opts)}`);
}

export function postMessage(id: Id, message: string): Promise<ChatMessage> {
  return request<ChatMessage>('POST', `/broadcasts/${seg(id)}/messages`, { message });
}

/** Deletes a message: one's own, or any as a moderator (`any_chat_message:delete`). */
export function deleteMessage(broadcastId: Id, messageId: Id, asModerator = false): Promise<void> {
  const path = `/broadcasts/${seg(broadcastId)}/messages/${seg(messageId)}`;
  return request<void>('DELETE', asModerator ? `/admin${path}` : path);
}

export function likeMessage(broadcastId: Id, messageId: Id, like: boolean): Promise<void> {
  return request<void>(like ? 'POST' : 'DELETE', `/broadcasts/${seg(broadcastId)}/messages/${seg(messageId)}/likes`);
}

/** Whether the user's role grants `action` on `resource` (API.md's permissions map). */
export function can(user: User | null | undefined, resource: string, action: string): boolean {
  return !!user?.permissions?.[resource]?.includes(action);
}

/**
 * Splits a 400's message ("title must be …; startAt must be …") into the
 * named fields' errors; what names no field is returned under ''.
 */
export function fieldErrors(message: string, fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of message.split(/;\s+/)) {
    const text = part.trim();
    if (!text) continue;
    const field = fields.find((f) => text === f || text.startsWith(`${f} `) || text.startsWith(`${f}:`));
    const key = field ?? '';
    out[key] = out[key] ? `${out[key]}; ${text}` : text;
  }
  return out;
}

/** A message of any thrown value, fit to show to the user. */
export function errorText(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong. Please try again.';
}
