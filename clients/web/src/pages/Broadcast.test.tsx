import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionProvider } from '../session';
import { errorEnvelope, json, on, stubFetch } from '../test/http';
import type { Broadcast, ChatMessage } from '../types';
import BroadcastPage from './Broadcast';

// A stand-in for the browser's WebSocket, the page's other boundary.
class FakeWebSocket {
  static all: FakeWebSocket[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.all.push(this);
  }
  close() {}
  open() {
    act(() => this.onopen?.(new Event('open')));
  }
  drop() {
    act(() => this.onclose?.(new CloseEvent('close', { code: 1006 })));
  }
  send(event: string, data: unknown) {
    act(() => this.onmessage?.(new MessageEvent('message', { data: JSON.stringify({ event, data }) })));
  }
}

const broadcast: Broadcast = {
  broadcastId: 7,
  userId: 2,
  username: 'dj_mix',
  title: 'Friday night set',
  description: null,
  startAt: '2030-01-01T20:00:00.000Z',
  endAt: '2030-01-01T21:00:00.000Z',
  isLive: false,
};

function message(id: number, text: string, username = 'fan'): ChatMessage {
  return {
    messageId: id,
    broadcastId: 7,
    userId: id + 100,
    username,
    createdAt: `2030-01-01T20:0${id}:00.000Z`,
    message: text,
    likedByUserId: [],
  };
}

function renderPage() {
  return render(
    <MemoryRouter initialEntries={['/broadcasts/7']}>
      <SessionProvider>
        <Routes>
          <Route path="/broadcasts/:id" element={<BroadcastPage />} />
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  );
}

const lastSocket = () => FakeWebSocket.all[FakeWebSocket.all.length - 1];

describe('BroadcastPage', () => {
  beforeEach(() => {
    FakeWebSocket.all = [];
    vi.stubGlobal('WebSocket', FakeWebSocket);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows stream:state for the LIVE badge and the player, without reload', async () => {
    stubFetch(
      on('GET', '/api/v1/users/me', () => errorEnvelope(401, 'Unauthorized', 'Not signed in.')),
      on('GET', '/api/v1/broadcasts/7', () => json(200, { results: broadcast })),
      on('GET', '/api/v1/broadcasts/7/messages?limit=20', () =>
        json(200, { results: { nextCursor: null, messages: [] } }),
      ),
    );
    const { container } = renderPage();
    expect(await screen.findByText('Friday night set')).toBeTruthy();
    expect(screen.getByTestId('live-badge').textContent).toBe('Off air');
    expect(container.querySelector('audio')).toBeNull();
    expect(lastSocket().url).toBe(`ws://${window.location.host}/ws/7`);

    lastSocket().open();
    lastSocket().send('stream:state', { isStreaming: true, broadcast: { ...broadcast, isLive: true } });
    expect(screen.getByTestId('live-badge').textContent).toBe('LIVE');
    const audio = container.querySelector('audio');
    expect(audio).toBeTruthy();
    const user = userEvent.setup();
    await user.click(screen.getByTestId('play'));
    expect(audio?.getAttribute('src')).toBe('/api/v1/broadcasts/7/stream');
    expect(HTMLMediaElement.prototype.play).toHaveBeenCalled();
    expect(screen.getByTestId('play').textContent).toContain('Stop');

    lastSocket().send('chat:client_count', { count: 4 });
    expect(screen.getByTestId('room-count').textContent).toBe('4 people here');
    lastSocket().send('stream:listeners', { broadcastId: 7, count: 3, peak: 5 });
    expect(screen.getByTestId('listener-count').textContent).toBe('3 listeners');
    lastSocket().send('stream:like', { broadcastId: 7, likedByUserId: 9, likedByUsername: 'fan', likeCount: 12 });
    expect(screen.getByText('12 likes')).toBeTruthy();

    lastSocket().send('stream:state', { isStreaming: false });
    expect(screen.getByTestId('live-badge').textContent).toBe('Off air');
    expect(container.querySelector('audio')).toBeNull();
    expect(screen.getByText(/just ended/)).toBeTruthy();
  });

  it('shows history oldest first, live messages, its own posts, and refetches on every open', async () => {
    let historyCalls = 0;
    const fetch = stubFetch(
      on('GET', '/api/v1/users/me', () => json(200, { results: { userId: 1, username: 'me' } })),
      on('GET', '/api/v1/broadcasts/7', () => json(200, { results: broadcast })),
      on('GET', '/api/v1/broadcasts/7/messages?limit=20', () => {
        historyCalls += 1;
        const pages = [
          [message(2, 'second'), message(1, 'first')],
          // Posted after the first fetch, before the socket was in the room: only REST has it.
          [message(3, 'before the socket'), message(2, 'second')],
          [message(5, 'while away')],
        ];
        const messages = pages[Math.min(historyCalls, pages.length) - 1];
        return json(200, { results: { nextCursor: null, messages } });
      }),
      on('POST', '/api/v1/broadcasts/7/messages', (init) =>
        json(201, { results: { ...message(6, JSON.parse(init.body as string).message, 'me'), userId: 1 } }),
      ),
    );
    renderPage();
    const log = await screen.findByRole('log');
    await screen.findByText('second');
    const texts = () => within(log).getAllByRole('listitem').map((li) => li.querySelector('.chat-text')?.textContent);
    expect(texts()).toEqual(['first', 'second']);

    const ws = lastSocket();
    ws.open();
    await screen.findByText('before the socket');
    expect(historyCalls).toBe(2);
    ws.send('chat:created_message', message(4, 'from the room'));
    expect(texts()).toEqual(['first', 'second', 'before the socket', 'from the room']);

    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Message'), '  hello there  ');
    await user.click(screen.getByRole('button', { name: 'Send' }));
    await screen.findByText('hello there');
    const post = fetch.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(JSON.parse(post?.[1]?.body as string)).toEqual({ message: 'hello there' });

    vi.useFakeTimers();
    ws.drop();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000);
    });
    expect(FakeWebSocket.all).toHaveLength(2);
    lastSocket().open();
    vi.useRealTimers();
    await screen.findByText('while away');
    expect(historyCalls).toBe(3);
    expect(texts()).toEqual(['first', 'second', 'before the socket', 'from the room', 'while away', 'hello there']);
  });
});
