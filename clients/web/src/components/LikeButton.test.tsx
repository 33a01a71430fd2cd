import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { errorEnvelope, json, stubFetch } from '../test/http';
import LikeButton from './LikeButton';

async function flush() {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(0);
  });
}

describe('LikeButton', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('likes, then shows and waits out the 10 s cooldown', async () => {
    vi.useFakeTimers();
    const fetch = stubFetch(() => new Response(null, { status: 204 }));
    const onLiked = vi.fn();
    render(<LikeButton broadcastId={7} likeCount={3} signedIn onLiked={onLiked} />);
    expect(screen.getByText('3 likes')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /Like/ }));
    await flush();
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/broadcasts/7/stream/likes');
    expect(onLiked).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('like-cooldown').textContent).toBe('again in 10 s');
    expect((screen.getByRole('button', { name: /Like/ }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByRole('status').textContent).toMatch(/like again in 10 seconds/);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(4000);
    });
    expect(screen.getByTestId('like-cooldown').textContent).toBe('again in 6 s');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(6500);
    });
    expect(screen.queryByTestId('like-cooldown')).toBeNull();
    expect((screen.getByRole('button', { name: /Like/ }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("waits as long as the server's Retry-After says after a 429", async () => {
    vi.useFakeTimers();
    stubFetch(() =>
      json(429, { status: 429, statusText: 'TooManyRequests', message: 'One like every 10 s.' }, { headers: { 'Retry-After': '4' } }),
    );
    const onLiked = vi.fn();
    render(<LikeButton broadcastId={7} likeCount={1} signedIn onLiked={onLiked} />);
    fireEvent.click(screen.getByRole('button', { name: /Like/ }));
    await flush();
    expect(onLiked).not.toHaveBeenCalled();
    expect(screen.getByTestId('like-cooldown').textContent).toBe('again in 4 s');
    expect(screen.getByRole('status').textContent).toContain('One like every 10 s.');
  });

  it('shows any other failure in words, and is disabled for guests', async () => {
    stubFetch(() => errorEnvelope(410, 'Gone', 'The broadcast is not live.'));
    const { rerender } = render(<LikeButton broadcastId={7} likeCount={0} signedIn onLiked={() => {}} />);
    fireEvent.click(screen.getByRole('button', { name: /Like/ }));
    expect((await screen.findByRole('alert')).textContent).toBe('The broadcast is not live.');
    rerender(<LikeButton broadcastId={7} likeCount={0} signedIn={false} onLiked={() => {}} />);
    expect((screen.getByRole('button', { name: /Like/ }) as HTMLButtonElement).disabled).toBe(true);
  });
});
