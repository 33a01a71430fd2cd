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
