// Shapes of the public API (see API.md). Ids are numbers on the wire; the
// app treats them as opaque and only ever compares or interpolates them.

export type Id = number | string;

export interface User {
  userId: Id;
  username: string;
  email: string;
  displayName: string | null;
  about: string | null;
  websiteUrl: string | null;
  profilePictureUrl: string | null;
  createdAt: string;
  lastLoginAt: string | null;
  isEmailConfirmed: boolean;
  role: string;
  permissions: Record<string, string[]>;
}

export interface Broadcast {
  broadcastId: Id;
  userId: Id;
  username: string;
  title: string;
  description: string | null;
  startAt: string;
  endAt: string;
  artworkUrl?: string | null;
  isVisible?: boolean;
  isLive: boolean;
  listenerPeakCount?: number;
  likeCount?: number;
  durationSec?: number | null;
  recordingUrl?: string | null;
  /** Only in GET /broadcasts/live: audio listeners right now. */
  listenerCount?: number;
}

export interface BroadcastsPage {
  nextCursor: string | null;
  broadcasts: Broadcast[];
}

export interface GroupedBroadcasts {
  past: Broadcast[];
  current: Broadcast[];
  future: Broadcast[];
}

export type TimeGroup = keyof GroupedBroadcasts;

/** Any subset of a broadcast's editable fields (PATCH /users/me/broadcasts/{id}). */
export interface BroadcastChanges {
  title?: string;
  description?: string;
  startAt?: string;
  endAt?: string;
  isVisible?: boolean;
}

export interface PublicProfile {
  userId: Id;
  username: string;
  displayName: string;
  about: string;
  websiteUrl: string;
  profilePictureUrl: string;
  createdAt: string;
}

export interface ProfileChanges {
  username?: string;
  displayName?: string;
  about?: string;
  websiteUrl?: string;
}

export interface StreamKey {
  /** Only in the answer to a rotation: the key is stored hashed. */
  streamKey: string | null;
  createdAt: string | null;
}

export interface AdminUser {
  userId: Id;
  username: string;
  email: string;
  displayName: string;
  role: string;
  isEmailConfirmed: boolean;
  isDeleted: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  deletedAt: string | null;
}

export interface UsersPage {
  nextCursor: string | null;
  users: AdminUser[];
}

/** Someone in a broadcast's room (chat:client_list, chat:new_client); guests have no username. */
export interface RoomClient {
  uuid: string;
  userId?: Id | null;
  username?: string | null;
  profilePictureUrl?: string | null;
}

export interface ChatMessage {
  messageId: Id;
  broadcastId: Id;
  userId: Id;
  username: string;
  createdAt: string;
  message: string;
  likedByUserId: Id[];
}

export interface MessagesPage {
  nextCursor: string | null;
  messages: ChatMessage[];
}

export interface SignUpInput {
  username: string;
  email: string;
  password: string;
  displayName?: string;
}

export interface NewBroadcast {
  title: string;
  startAt: string;
  endAt: string;
  description?: string;
}

/** A frame from the server on /ws/{broadcastId}. */
export interface WsFrame {
  event: string;
  data: unknown;
}

export type StreamState =
  | { isStreaming: false }
  | { isStreaming: true; broadcast?: Broadcast };
