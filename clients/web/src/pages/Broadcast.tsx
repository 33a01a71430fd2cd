import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { errorText, getBroadcast, getMessages, postMessage, streamUrl } from '../api';
import { ChatForm, ChatList, SignInToChat, mergeMessages } from '../components/Chat';
import ErrorAlert from '../components/ErrorAlert';
import LiveBadge from '../components/LiveBadge';
import { useSession } from '../session';
import type { Broadcast, ChatMessage, StreamState, WsFrame } from '../types';
import { useBroadcastSocket } from '../ws';

const HISTORY_LIMIT = 20;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

function formatWindow(startAt: string, endAt: string): string {
  const s = new Date(startAt);
  const e = new Date(endAt);
  if (Number.isNaN(s.getTime()) || Number.isNaN(e.getTime())) return '';
  const sameDay = s.toDateString() === e.toDateString();
  return `${dateTime.format(s)} – ${sameDay ? timeOnly.format(e) : dateTime.format(e)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export default function BroadcastPage() {
  const { id = '' } = useParams();
  const { user } = useSession();

  const [broadcast, setBroadcast] = useState<Broadcast | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  // The socket's word on liveness wins over the REST answer once it arrives.
  const [socketLive, setSocketLive] = useState<boolean | null>(null);

  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [chatError, setChatError] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [roomCount, setRoomCount] = useState<number | null>(null);
  const [listeners, setListeners] = useState<number | null>(null);

  const currentId = useRef(id);
  currentId.current = id;

  const loadHistory = useCallback(
    async (replaceCursor: boolean) => {
      try {
        const page = await getMessages(id, { limit: HISTORY_LIMIT });
        if (currentId.current !== id) return;
        setMessages((cur) => mergeMessages(cur, page.messages));
        if (replaceCursor) setNextCursor(page.nextCursor);
        setChatError(null);
      } catch (err) {
        if (currentId.current === id) setChatError(errorText(err));
      }
    },
    [id],
  );

  useEffect(() => {
    let live = true;
    setBroadcast(null);
    setLoadError(null);
    setSocketLive(null);
    setMessages([]);
    setNextCursor(null);
    setRoomCount(null);
    setListeners(null);
    getBroadcast(id).then(
      (b) => live && setBroadcast(b),
      (err: unknown) => live && setLoadError(errorText(err)),
    );
    void loadHistory(true);
    return () => {
      live = false;
    };
  }, [id, loadHistory]);

  const onFrame = useCallback(
    (frame: WsFrame) => {
      const data = frame.data;
      switch (frame.event) {
        case 'stream:state': {
          if (!isRecord(data)) return;
          const state = data as unknown as StreamState;
          const streaming = state.isStreaming === true;
          // The player is mounted only while live, so a new start gets a fresh connection.
          setSocketLive(streaming);
          if (state.isStreaming && state.broadcast && String(state.broadcast.broadcastId) === String(id)) {
            setBroadcast(state.broadcast);
          }
          if (!streaming) setListeners(null);
          return;
        }
        case 'chat:created_message': {
          if (!isRecord(data) || typeof data.message !== 'string') return;
          const m = data as unknown as ChatMessage;
          if (String(m.broadcastId) !== String(id)) return;
          setMessages((cur) => mergeMessages(cur, [m]));
          return;
        }
        case 'chat:deleted_message': {
          if (!isRecord(data)) return;
          const gone = String(data.messageId);
          setMessages((cur) => cur.filter((m) => String(m.messageId) !== gone));
          return;
        }
        case 'chat:client_count': {
          if (isRecord(data) && typeof data.count === 'number') setRoomCount(data.count);
          return;
        }
        case 'stream:listeners': {
          if (isRecord(data) && typeof data.count === 'number') setListeners(data.count);
          return;
        }
        default:
          return;
      }
    },
    [id],
  );

  // No socket for a broadcast that could not be loaded (unknown, hidden, …).
  const socketStatus = useBroadcastSocket(id && !loadError ? id : undefined, {
    onFrame,
    onReconnect: () => {
      void loadHistory(false);
      getBroadcast(id).then(
        (b) => currentId.current === id && setBroadcast(b),
        () => undefined,
      );
    },
  });

  async function loadOlder() {
    if (!nextCursor) return;
    setLoadingOlder(true);
    try {
      const page = await getMessages(id, { limit: HISTORY_LIMIT, nextCursor });
      setMessages((cur) => mergeMessages(cur, page.messages));
      setNextCursor(page.nextCursor);
      setChatError(null);
    } catch (err) {
      setChatError(errorText(err));
    } finally {
      setLoadingOlder(false);
    }
  }

  async function send(text: string) {
    const m = await postMessage(id, text);
    // The server does not echo our own message to our socket: add it here.
    setMessages((cur) => mergeMessages(cur, [m]));
  }

  if (loadError) {
    return (
      <section className="card narrow">
        <h1>Broadcast</h1>
        <ErrorAlert message={loadError} />
        <p>
          <Link to="/">Back to the home page</Link>
        </p>
      </section>
    );
  }

  const isLive = socketLive ?? broadcast?.isLive ?? false;

  return (
    <div className="broadcast-layout">
      <section className="card" aria-labelledby="broadcast-title">
        {broadcast ? (
          <>
            <div className="broadcast-head">
              <LiveBadge live={isLive} />
              {isLive && listeners !== null && (
                <span className="muted">{listeners === 1 ? '1 listener' : `${listeners} listeners`}</span>
              )}
            </div>
            <h1 id="broadcast-title">{broadcast.title}</h1>
            <p className="muted">
              by <strong>{broadcast.username}</strong> · {formatWindow(broadcast.startAt, broadcast.endAt)}
            </p>
            {broadcast.description && <p className="description">{broadcast.description}</p>}
            {isLive ? (
              <audio
                className="player"
                controls
                preload="none"
                src={streamUrl(id)}
                aria-label={`Live audio: ${broadcast.title}`}
              />
            ) : (
              <p className="offline-note">Not on air right now. The player appears here as soon as the stream starts.</p>
            )}
          </>
        ) : (
          <p role="status" id="broadcast-title">
            Loading broadcast…
          </p>
        )}
      </section>

      <section className="card chat" aria-labelledby="chat-title">
        <div className="chat-head">
          <h2 id="chat-title">Chat</h2>
          <span className="muted small">
            {socketStatus === 'open'
              ? roomCount !== null
                ? `${roomCount} in the room`
                : 'connected'
              : socketStatus === 'reconnecting'
                ? 'reconnecting…'
                : socketStatus === 'connecting'
                  ? 'connecting…'
                  : ''}
          </span>
        </div>
        {nextCursor && (
          <button type="button" className="link-button" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading…' : 'Show earlier messages'}
          </button>
        )}
        <ChatList messages={messages} ownUserId={user?.userId} />
        <ErrorAlert message={chatError} />
        {user ? <ChatForm send={send} /> : user === null ? <SignInToChat /> : null}
      </section>
    </div>
  );
}
