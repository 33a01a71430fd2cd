import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
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

