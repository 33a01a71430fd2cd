import { useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { errorText } from '../api';
import type { ChatMessage, Id } from '../types';
import ErrorAlert from './ErrorAlert';

export const MAX_MESSAGE_CHARS = 500;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFormat.format(d);
}

/**
 * Merges messages into a list ordered oldest first, without duplicates (a
 * message may come both from history and from the socket).
 */
export function mergeMessages(current: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map<string, ChatMessage>();
  for (const m of current) byId.set(String(m.messageId), m);
  for (const m of incoming) byId.set(String(m.messageId), m);
  return [...byId.values()].sort((a, b) => {
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
    const x = Number(a.messageId);
    const y = Number(b.messageId);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return String(a.messageId) < String(b.messageId) ? -1 : 1;
  });
}

/**
 * Chat messages, oldest at the top. User text is only ever rendered as text.
 * The live region stays the same element whether or not there are messages,
 * so screen readers announce what is added to it.
 */
export function ChatList({ messages, ownUserId }: { messages: ChatMessage[]; ownUserId?: Id | null }) {
  // Follow new messages while the reader is at the bottom; leave them be when scrolled up.
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const last = messages.length ? String(messages[messages.length - 1].messageId) : '';
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [last]);

  return (
    <div
      ref={ref}
      className="chat-list"
      role="log"
      aria-live="polite"
      aria-relevant="additions"
      aria-label="Chat messages"
      onScroll={(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {messages.length === 0 ? (
        <p className="muted chat-empty">No messages yet. Say hello!</p>
      ) : (
        <ol>
          {messages.map((m) => {
            const own = ownUserId != null && String(ownUserId) === String(m.userId);
            return (
              <li key={String(m.messageId)} className={own ? 'chat-msg own' : 'chat-msg'}>
                <span className="chat-meta">
                  <strong className="chat-user">{m.username}</strong>
                  <time dateTime={m.createdAt}>{formatTime(m.createdAt)}</time>
                </span>
                <span className="chat-text">{m.message}</span>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}

/** The form to post a message. `send` resolves once the server accepted it. */
export function ChatForm({ send }: { send: (message: string) => Promise<void> }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const trimmed = text.trim();
  const tooLong = [...trimmed].length > MAX_MESSAGE_CHARS;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!trimmed || busy) return;
    setBusy(true);
    setError(null);
    try {
      await send(trimmed);
      setText('');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="chat-form" onSubmit={onSubmit}>
      <label htmlFor="chat-input" className="visually-hidden">
        Message
      </label>
      <input
        id="chat-input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="Write a message"
        autoComplete="off"
        aria-invalid={tooLong || undefined}
      />
      <button type="submit" disabled={busy || !trimmed || tooLong}>
        Send
      </button>
      {tooLong && <small className="hint warn">At most {MAX_MESSAGE_CHARS} characters.</small>}
      <ErrorAlert message={error} />
    </form>
  );
}

export function SignInToChat() {
  return (
    <p className="muted">
      <Link to="/signin">Sign in</Link> to chat.
    </p>
  );
}
