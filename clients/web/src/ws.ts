// A small reconnecting WebSocket for /ws/{broadcastId}. Frames from the server
// are JSON `{event, data}`. After a drop it reconnects after 1 s, 2 s, 4 s, …
// up to 30 s between tries; a successful open starts the schedule over.

import { useEffect, useRef, useState } from 'react';
import type { Id, WsFrame } from './types';

export const BACKOFF_START_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

/** Delay before reconnect try number `attempt` (0-based): 1 s doubling, capped at 30 s. */
export function backoffDelay(attempt: number): number {
  return Math.min(BACKOFF_START_MS * 2 ** Math.max(0, attempt), BACKOFF_MAX_MS);
}

export function broadcastSocketUrl(broadcastId: Id, loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${loc.host}/ws/${encodeURIComponent(String(broadcastId))}`;
}

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The part of the browser's WebSocket this module uses (tests pass a fake). */
export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface ReconnectingSocketOptions {
  url: string;
  onFrame: (frame: WsFrame) => void;
  /** Called on every open; `reconnected` is false only for the very first try. */
  onOpen?: (info: { reconnected: boolean }) => void;
  onStatus?: (status: SocketStatus) => void;
  create?: SocketFactory;
}

function parseFrame(raw: unknown): WsFrame | null {
  if (typeof raw !== 'string') return null;
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as WsFrame).event === 'string') {
      return { event: (v as WsFrame).event, data: (v as WsFrame).data };
    }
  } catch {
    // Not JSON: ignore the frame.
  }
  return null;
}

export class ReconnectingSocket {
  private readonly opts: ReconnectingSocketOptions;
  private readonly create: SocketFactory;
  private socket: SocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private tries = 0;
  private stopped = false;

  constructor(opts: ReconnectingSocketOptions) {
    this.opts = opts;
    this.create = opts.create ?? ((url) => new WebSocket(url));
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes the socket for good: no more reconnects. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onopen = s.onclose = s.onerror = s.onmessage = null;
      s.close(1000, 'bye');
    }
    this.opts.onStatus?.('closed');
  }

  private connect(): void {
    this.timer = null;
    if (this.stopped) return;
    const reconnected = this.tries > 0;
    this.tries += 1;
    this.opts.onStatus?.(reconnected ? 'reconnecting' : 'connecting');
    let s: SocketLike;
    try {
      s = this.create(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = s;
    s.onopen = () => {
      this.attempt = 0;
      this.opts.onStatus?.('open');
      this.opts.onOpen?.({ reconnected });
    };
    s.onmessage = (ev) => {
      const frame = parseFrame(ev.data);
      if (frame) this.opts.onFrame(frame);
    };
    s.onerror = () => {
      // A close event follows every error; the reconnect is scheduled there.
    };
    s.onclose = () => {
      if (this.socket !== s) return;
      this.socket = null;
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer !== null) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.opts.onStatus?.('reconnecting');
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

export interface BroadcastSocketHandlers {
  onFrame: (frame: WsFrame) => void;
  /**
   * Called each time the socket opens, the first time too: whatever happened before the room had
   * this socket (between the page's first fetches and the upgrade, or while it was away) is only in
   * REST, so this is the time to refetch.
   */
  onOpen?: (info: { reconnected: boolean }) => void;
}

/**
 * Keeps a socket to /ws/{broadcastId} open while the component is mounted and
 * returns its status. Handlers may change on every render without reconnecting.
 */
export function useBroadcastSocket(broadcastId: Id | undefined, handlers: BroadcastSocketHandlers): SocketStatus {
  const [status, setStatus] = useState<SocketStatus>('connecting');
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;

  useEffect(() => {
    if (broadcastId === undefined) return;
    const socket = new ReconnectingSocket({
      url: broadcastSocketUrl(broadcastId),
      onFrame: (f) => handlersRef.current.onFrame(f),
      onOpen: (info) => handlersRef.current.onOpen?.(info),
      onStatus: setStatus,
    });
    socket.start();
    return () => socket.stop();
  }, [broadcastId]);

  return status;
}
