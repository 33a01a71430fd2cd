import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReconnectingSocket, backoffDelay, broadcastSocketUrl, type SocketLike } from './ws';
import type { WsFrame } from './types';

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  open() {
    this.onopen?.(new Event('open'));
  }
  fail() {
    this.onerror?.(new Event('error'));
    this.onclose?.(new CloseEvent('close', { code: 1006 }));
  }
  receive(data: string) {
    this.onmessage?.(new MessageEvent('message', { data }));
  }
  close() {
    this.closed = true;
  }
}

describe('backoffDelay', () => {
  it('starts at 1 s, doubles, and stops at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(backoffDelay)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
});

describe('broadcastSocketUrl', () => {
  it('uses wss on https and ws on http, on the page host', () => {
    expect(broadcastSocketUrl(7, { protocol: 'https:', host: 'live.example' })).toBe('wss://live.example/ws/7');
    expect(broadcastSocketUrl('7', { protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080/ws/7');
  });
});

describe('ReconnectingSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    const sockets: FakeSocket[] = [];
    const frames: WsFrame[] = [];
    const opens: boolean[] = [];
    const rs = new ReconnectingSocket({
      url: 'ws://host/ws/7',
      create: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      onFrame: (f) => frames.push(f),
      onOpen: ({ reconnected }) => opens.push(reconnected),
    });
    return { rs, sockets, frames, opens };
  }

  /** Advances the clock until the next socket is created; returns how long that took. */
  function timeToNextSocket(sockets: FakeSocket[]): number {
    const before = sockets.length;
    let waited = 0;
    while (sockets.length === before) {
      vi.advanceTimersByTime(100);
      waited += 100;
      if (waited > 120_000) throw new Error('no reconnect within 2 minutes');
    }
    return waited;
  }

  it('reconnects after 1, 2, 4, 8, 16, 30, 30 s while the server is down', () => {
    const { rs, sockets } = setup();
    rs.start();
    expect(sockets).toHaveLength(1);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      sockets[sockets.length - 1].fail();
      waits.push(timeToNextSocket(sockets));
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    rs.stop();
  });

  it('starts the schedule over after a successful open, and reports it as a reconnect', () => {
    const { rs, sockets, opens } = setup();
    rs.start();
    sockets[0].open();
    sockets[0].fail();
    expect(timeToNextSocket(sockets)).toBe(1000);
    sockets[1].fail();
    expect(timeToNextSocket(sockets)).toBe(2000);
    sockets[2].open();
    sockets[2].fail();
    expect(timeToNextSocket(sockets)).toBe(1000);
    expect(opens).toEqual([false, true]);
    rs.stop();
  });

  it('passes JSON frames on and ignores garbage', () => {
    const { rs, sockets, frames } = setup();
    rs.start();
    sockets[0].open();
    sockets[0].receive('{"event":"chat:client_count","data":{"count":3}}');
    sockets[0].receive('not json');
    sockets[0].receive('{"data":{}}');
    expect(frames).toEqual([{ event: 'chat:client_count', data: { count: 3 } }]);
    rs.stop();
  });

  it('does not reconnect after stop', () => {
    const { rs, sockets } = setup();
    rs.start();
    sockets[0].fail();
    rs.stop();
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });

  it('closes the open socket on stop', () => {
    const { rs, sockets } = setup();
    rs.start();
    sockets[0].open();
    rs.stop();
    expect(sockets[0].closed).toBe(true);
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });
});
