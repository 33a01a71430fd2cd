import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../types';
import { ChatList, mergeMessages } from './Chat';

function msg(id: number, message: string, createdAt = `2030-01-01T10:00:0${id}.000Z`): ChatMessage {
  return { messageId: id, broadcastId: 7, userId: 1, username: 'mallory<b>', createdAt, message, likedByUserId: [] };
}

describe('ChatList', () => {
  it('renders user text literally, never as HTML', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const { container } = render(<ChatList messages={[msg(1, evil)]} />);
    expect(screen.getByText(evil)).toBeTruthy();
    expect(screen.getByText('mallory<b>')).toBeTruthy();
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
  });

  it('is a polite live region listing messages in the given order', () => {
    render(<ChatList messages={[msg(1, 'first'), msg(2, 'second')]} />);
    const log = screen.getByRole('log');
    expect(log.getAttribute('aria-live')).toBe('polite');
    const items = within(log).getAllByRole('listitem');
    expect(items.map((li) => li.textContent?.includes('first'))).toEqual([true, false]);
  });
});

describe('mergeMessages', () => {
  it('orders oldest first and drops duplicates', () => {
    const history = [msg(3, 'c'), msg(2, 'b'), msg(1, 'a')]; // newest first, as the API sends it
    const merged = mergeMessages([], history);
    expect(merged.map((m) => m.message)).toEqual(['a', 'b', 'c']);
    expect(mergeMessages(merged, [msg(2, 'b'), msg(4, 'd')]).map((m) => m.message)).toEqual(['a', 'b', 'c', 'd']);
  });
});


describe('ChatList actions', () => {
  const mine = { ...msg(1, 'my words'), userId: 5, username: 'me' };
  const theirs = { ...msg(2, 'their words'), userId: 6, username: 'them', likedByUserId: [5, 8] };

  it('offers Delete on one’s own messages, Remove to moderators, and likes with a pressed state', async () => {
    const onDelete = vi.fn(() => Promise.resolve());
    const onLike = vi.fn(() => Promise.resolve());
    const { rerender } = render(<ChatList messages={[mine, theirs]} ownUserId={5} onDelete={onDelete} onLike={onLike} />);
    expect(screen.getByRole('button', { name: 'Delete your message' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Remove/ })).toBeNull();
    const liked = screen.getByRole('button', { name: 'Unlike the message from them (2 likes)' });
    expect(liked.getAttribute('aria-pressed')).toBe('true');
    await userEvent.click(liked);
    expect(onLike).toHaveBeenCalledWith(theirs, false);
    await userEvent.click(screen.getByRole('button', { name: 'Like the message from me (0 likes)' }));
    expect(onLike).toHaveBeenCalledWith(mine, true);
    await userEvent.click(screen.getByRole('button', { name: 'Delete your message' }));
    expect(onDelete).toHaveBeenCalledWith(mine, false);

    rerender(<ChatList messages={[mine, theirs]} ownUserId={5} canModerate onDelete={onDelete} onLike={onLike} />);
    await userEvent.click(screen.getByRole('button', { name: 'Remove the message from them' }));
    expect(onDelete).toHaveBeenCalledWith(theirs, true);
  });

  it('shows a failed action in words next to the message', async () => {
    const onDelete = vi.fn(() => Promise.reject(new Error('You may only delete your own messages.')));
    render(<ChatList messages={[mine]} ownUserId={5} onDelete={onDelete} />);
    await userEvent.click(screen.getByRole('button', { name: 'Delete your message' }));
    expect((await screen.findByRole('alert')).textContent).toBe('You may only delete your own messages.');
  });

  it('guests cannot like', () => {
    render(<ChatList messages={[theirs]} onLike={() => Promise.resolve()} />);
    expect((screen.getByRole('button', { name: /Like the message/ }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('loads older messages when scrolled to the top, or with the button', async () => {
    const onLoadOlder = vi.fn();
    render(<ChatList messages={[mine, theirs]} hasOlder onLoadOlder={onLoadOlder} />);
    const log = screen.getByRole('log');
    Object.defineProperty(log, 'scrollHeight', { configurable: true, value: 1000 });
    Object.defineProperty(log, 'clientHeight', { configurable: true, value: 300 });
    log.scrollTop = 500;
    fireEvent.scroll(log);
    expect(onLoadOlder).not.toHaveBeenCalled();
    log.scrollTop = 10;
    fireEvent.scroll(log);
    expect(onLoadOlder).toHaveBeenCalledTimes(1);
    await userEvent.click(screen.getByRole('button', { name: 'Show earlier messages' }));
    expect(onLoadOlder).toHaveBeenCalledTimes(2);
  });
});
