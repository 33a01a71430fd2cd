import { useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { errorText } from '../api';
import { useAction } from '../hooks';
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

export interface ChatActions {
  /** The signed-in user's id (their own messages get a delete button), or null/undefined. */
  ownUserId?: Id | null;
  /** `any_chat_message:delete`: a Remove button on everyone else's messages. */
  canModerate?: boolean;
  onDelete?: (m: ChatMessage, asModerator: boolean) => Promise<void>;
  onLike?: (m: ChatMessage, like: boolean) => Promise<void>;
}

interface ListProps extends ChatActions {
  messages: ChatMessage[];
  /** There are older messages to load (a cursor). */
  hasOlder?: boolean;
  loadingOlder?: boolean;
  onLoadOlder?: () => void;
}

/** Scrolled this close to an edge counts as being at it. */
const EDGE_PX = 40;

/**
 * Chat messages, oldest at the top. Scrolling up to the top loads older ones
 * (a button does the same for keyboards); new ones are followed while the
 * reader is at the bottom. User text is only ever rendered as text. The live
 * region stays the same element whether or not there are messages, so screen
 * readers announce what is added to it.
 */
export function ChatList({ messages, hasOlder, loadingOlder, onLoadOlder, ...actions }: ListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  // Distance from the bottom before older messages were prepended, to keep the view still.
  const fromBottom = useRef<number | null>(null);
  const first = messages.length ? String(messages[0].messageId) : '';
  const last = messages.length ? String(messages[messages.length - 1].messageId) : '';

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (fromBottom.current !== null) {
      el.scrollTop = el.scrollHeight - fromBottom.current;
      fromBottom.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [first, last]);

  function loadOlder() {
    const el = ref.current;
    if (!hasOlder || loadingOlder || !onLoadOlder) return;
    if (el) fromBottom.current = el.scrollHeight - el.scrollTop;
    onLoadOlder();
  }

  return (
    <div className="chat-list-wrap">
      {hasOlder && (
        <button type="button" className="link-button older" onClick={loadOlder} disabled={loadingOlder}>
          {loadingOlder ? 'Loading earlier messages…' : 'Show earlier messages'}
        </button>
      )}
      <div
        ref={ref}
        className="chat-list"
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label="Chat messages"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX;
          if (el.scrollTop < EDGE_PX && el.scrollHeight > el.clientHeight) loadOlder();
        }}
      >
        {messages.length === 0 ? (
          <p className="muted chat-empty">No messages yet. Say hello!</p>
        ) : (
          <ol>
            {messages.map((m) => (
              <ChatItem key={String(m.messageId)} message={m} {...actions} />
            ))}
          </ol>
        )}
      </div>
    </div>
  );
}

function ChatItem({ message: m, ownUserId, canModerate, onDelete, onLike }: ChatActions & { message: ChatMessage }) {
  const { busy, error, run } = useAction();
  const signedIn = ownUserId != null;
  const own = signedIn && String(ownUserId) === String(m.userId);
  const liked = signedIn && m.likedByUserId.some((id) => String(id) === String(ownUserId));
  const likes = m.likedByUserId.length;

  return (
    <li className={own ? 'chat-msg own' : 'chat-msg'} data-message-id={String(m.messageId)}>
      <span className="chat-meta">
        <strong className="chat-user">{m.username}</strong>
        <time dateTime={m.createdAt}>{formatTime(m.createdAt)}</time>
      </span>
      <span className="chat-text">{m.message}</span>
      <span className="chat-actions">
        <button
          type="button"
          className={liked ? 'chip liked' : 'chip'}
          aria-pressed={liked}
          aria-label={`${liked ? 'Unlike' : 'Like'} the message from ${m.username} (${likes} ${likes === 1 ? 'like' : 'likes'})`}
          disabled={!signedIn || busy || !onLike}
          onClick={() => void run(() => onLike?.(m, !liked))}
        >
          <span aria-hidden="true">♥ {likes}</span>
        </button>
        {own && onDelete && (
          <button
            type="button"
            className="chip"
            aria-label="Delete your message"
            disabled={busy}
            onClick={() => void run(() => onDelete(m, false))}
          >
            Delete
          </button>
        )}
        {!own && canModerate && onDelete && (
          <button
            type="button"
            className="chip danger"
            aria-label={`Remove the message from ${m.username}`}
            disabled={busy}
            onClick={() => void run(() => onDelete(m, true))}
          >
            Remove
          </button>
        )}
      </span>
      <ErrorAlert message={error} />
    </li>
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
        maxLength={MAX_MESSAGE_CHARS * 2}
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
      <Link to="/signin">Sign in</Link> to chat and like.
    </p>
  );
}
