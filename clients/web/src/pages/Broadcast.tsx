import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import {
  ApiError,
  can,
  deleteMessage,
  errorText,
  getBroadcast,
  getMessages,
  likeMessage,
  postMessage,
  recordingUrl,
  streamUrl,
} from '../api';
import Artwork from '../components/Artwork';
import { userPath } from '../components/BroadcastCard';
import { ChatForm, ChatList, SignInToChat, mergeMessages } from '../components/Chat';
import ErrorAlert from '../components/ErrorAlert';
import LikeButton from '../components/LikeButton';
import LiveBadge from '../components/LiveBadge';
import { LivePlayer, RecordingPlayer } from '../components/Player';
import WhoIsHere from '../components/WhoIsHere';
import { formatClock, formatWindow, plural } from '../format';
import { useSession } from '../session';
import type { Broadcast, ChatMessage, Id, RoomClient, StreamState, WsFrame } from '../types';
import { useBroadcastSocket } from '../ws';

export const HISTORY_LIMIT = 20;
/** After the end, when to look for the recording (the archive saves it a moment later). */
const RECORDING_RETRIES_MS = [1500, 4000, 10_000, 20_000];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

const same = (a: Id | null | undefined, b: Id | null | undefined) => a != null && b != null && String(a) === String(b);

function withLikes(messages: ChatMessage[], messageId: Id, likedByUserId: Id[]): ChatMessage[] {
  return messages.map((m) => (same(m.messageId, messageId) ? { ...m, likedByUserId } : m));
}

function socketWords(status: string): string {
  if (status === 'reconnecting') return 'Reconnecting…';
  if (status === 'connecting') return 'Connecting…';
  return '';
}

export default function BroadcastPage() {
  const { id = '' } = useParams();
  const { user } = useSession();

  const [broadcast, setBroadcast] = useState<Broadcast | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  // The socket's word on liveness wins over the REST answer once it arrives.
  const [socketLive, setSocketLive] = useState<boolean | null>(null);
  // Ended while this page was open (or found ended): look for the recording.
  const [ended, setEnded] = useState(false);
  // After the end a broadcast is hidden until its owner publishes it.
  const [unpublished, setUnpublished] = useState(false);

  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [chatError, setChatError] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [roomCount, setRoomCount] = useState<number | null>(null);
  const [clients, setClients] = useState<RoomClient[]>([]);
  const [listeners, setListeners] = useState<number | null>(null);
  const [likeCount, setLikeCount] = useState(0);

  const currentId = useRef(id);
  currentId.current = id;
  // Whether this page has seen it live (REST or socket): going off air then means it ended.
  const liveSeen = useRef(false);

  const refetchBroadcast = useCallback(async () => {
    try {
      const b = await getBroadcast(id);
      if (currentId.current !== id) return null;
      setBroadcast(b);
      setLikeCount(b.likeCount ?? 0);
      setUnpublished(false);
      return b;
    } catch (err) {
      if (currentId.current === id && err instanceof ApiError && err.status === 404) {
        setUnpublished(true);
        return 'gone' as const;
      }
      return null;
    }
  }, [id]);

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
    liveSeen.current = false;
    setBroadcast(null);
    setLoadError(null);
    setSocketLive(null);
    setEnded(false);
    setUnpublished(false);
    setMessages([]);
    setNextCursor(null);
    setRoomCount(null);
    setClients([]);
    setListeners(null);
    getBroadcast(id).then(
      (b) => {
        if (!live) return;
        if (b.isLive) liveSeen.current = true;
        setBroadcast(b);
        setLikeCount(b.likeCount ?? 0);
      },
      (err: unknown) => live && setLoadError(errorText(err)),
    );
    void loadHistory(true);
    return () => {
      live = false;
    };
  }, [id, loadHistory]);

  // Once it ended, fetch it again until the recording is there (or it turns out hidden).
  const hasRecording = !!broadcast?.recordingUrl;
  useEffect(() => {
    if (!ended || hasRecording || unpublished) return;
    const timers = RECORDING_RETRIES_MS.map((ms) => setTimeout(() => void refetchBroadcast(), ms));
    return () => timers.forEach(clearTimeout);
  }, [ended, hasRecording, unpublished, refetchBroadcast]);

  const onFrame = useCallback(
    (frame: WsFrame) => {
      const data = frame.data;
      switch (frame.event) {
        case 'stream:state': {
          if (!isRecord(data)) return;
          const state = data as unknown as StreamState;
          if (state.isStreaming) {
            liveSeen.current = true;
            setSocketLive(true);
            setEnded(false);
            if (state.broadcast && same(state.broadcast.broadcastId, id)) {
              setBroadcast(state.broadcast);
              setLikeCount(state.broadcast.likeCount ?? 0);
            }
          } else {
            if (liveSeen.current) setEnded(true);
            liveSeen.current = false;
            setSocketLive(false);
            setListeners(null);
          }
          return;
        }
        case 'chat:created_message': {
          if (!isRecord(data) || typeof data.message !== 'string') return;
          const m = data as unknown as ChatMessage;
          if (!same(m.broadcastId, id)) return;
          setMessages((cur) => mergeMessages(cur, [m]));
          return;
        }
        case 'chat:deleted_message': {
          if (!isRecord(data)) return;
          setMessages((cur) => cur.filter((m) => !same(m.messageId, data.messageId as Id)));
          return;
        }
        case 'chat:liked_message':
        case 'chat:unliked_message': {
          if (!isRecord(data) || !Array.isArray(data.likedByUserId)) return;
          setMessages((cur) => withLikes(cur, data.messageId as Id, data.likedByUserId as Id[]));
          return;
        }
        case 'chat:client_list': {
          if (Array.isArray(data)) setClients(data as RoomClient[]);
          return;
        }
        case 'chat:new_client': {
          if (!isRecord(data) || typeof data.uuid !== 'string') return;
          const c = data as unknown as RoomClient;
          setClients((cur) => [...cur.filter((x) => x.uuid !== c.uuid), c]);
          return;
        }
        case 'chat:deleted_client': {
          if (!isRecord(data)) return;
          setClients((cur) => cur.filter((x) => x.uuid !== data.uuid));
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
        case 'stream:like': {
          if (isRecord(data) && typeof data.likeCount === 'number') setLikeCount(data.likeCount);
          return;
        }
        default:
          return;
      }
    },
    [id],
  );

  // No socket for a broadcast that could not be loaded (unknown, hidden, …), nor once it turned
  // hidden (an ended broadcast until its owner publishes it): the room refuses it then.
  const socketStatus = useBroadcastSocket(id && !loadError && !unpublished ? id : undefined, {
    onFrame,
    // REST is the source of truth: what happened before the socket joined the room (after the first
    // fetches, or while it was away) is only there. Merging by id makes the overlap harmless.
    onOpen: () => {
      void loadHistory(false);
      void refetchBroadcast();
    },
  });

  // A socket that cannot get back in may mean the broadcast ended and is hidden now: ask REST.
  useEffect(() => {
    if (socketStatus !== 'reconnecting') return;
    void refetchBroadcast().then((b) => {
      if (b === 'gone' && liveSeen.current) {
        liveSeen.current = false;
        setSocketLive(false);
        setEnded(true);
      }
    });
  }, [socketStatus, refetchBroadcast]);

  async function loadOlder() {
    if (!nextCursor || loadingOlder) return;
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

  async function remove(m: ChatMessage, asModerator: boolean) {
    await deleteMessage(id, m.messageId, asModerator);
    setMessages((cur) => cur.filter((x) => !same(x.messageId, m.messageId)));
  }

  async function like(m: ChatMessage, liked: boolean) {
    if (!user) return;
    await likeMessage(id, m.messageId, liked);
    setMessages((cur) =>
      cur.map((x) => {
        if (!same(x.messageId, m.messageId)) return x;
        const others = x.likedByUserId.filter((u) => !same(u, user.userId));
        return { ...x, likedByUserId: liked ? [...others, user.userId] : others };
      }),
    );
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
  const isPast = !!broadcast && !isLive && (ended || Date.parse(broadcast.endAt) < Date.now() || hasRecording);

  return (
    <div className="broadcast-layout">
      <section className="card" aria-labelledby="broadcast-title">
        {broadcast ? (
          <>
            <div className="broadcast-top">
              <Artwork broadcast={broadcast} size="lg" />
              <div className="broadcast-info">
                <div className="broadcast-head">
                  <LiveBadge live={isLive} />
                  {isPast && <span className="badge badge-off">Ended</span>}
                </div>
                <h1 id="broadcast-title">{broadcast.title}</h1>
                <p className="muted">
                  by <Link to={userPath(broadcast.username)}>{broadcast.username}</Link> ·{' '}
                  {formatWindow(broadcast.startAt, broadcast.endAt)}
                </p>
              </div>
            </div>
            {/* Announces the switch to LIVE and the end to screen readers. */}
            <p className="visually-hidden" role="status">
              {isLive ? 'The broadcast is live.' : ended ? 'The broadcast has ended.' : ''}
            </p>
            {isLive ? (
              <LivePlayer
                src={streamUrl(id)}
                title={broadcast.title}
                startedAt={broadcast.startAt}
                listeners={listeners}
              />
            ) : isPast && hasRecording ? (
              <RecordingPlayer src={recordingUrl(broadcast)} title={broadcast.title} />
            ) : isPast ? (
              <p className="offline-note" role="status">
                {unpublished
                  ? 'This broadcast has ended. Its recording appears here once the DJ publishes it.'
                  : ended
                    ? 'This broadcast has just ended. Looking for its recording…'
                    : 'This broadcast has ended and has no recording.'}
              </p>
            ) : (
              <p className="offline-note">
                Not on air right now. The player appears here as soon as the stream starts, no need to reload.
              </p>
            )}
            {(isLive || isPast) && (
              <LikeButton
                broadcastId={id}
                likeCount={likeCount}
                signedIn={!!user && isLive}
                onLiked={() => setLikeCount((n) => n + 1)}
              />
            )}
            {isPast && (
              <p className="muted small">
                {broadcast.durationSec ? `Lasted ${formatClock(broadcast.durationSec)} · ` : ''}
                {plural(broadcast.listenerPeakCount ?? 0, 'listener')} at the peak
              </p>
            )}
            {broadcast.description && <p className="description">{broadcast.description}</p>}
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
          <span className="muted small" role="status">
            {socketWords(socketStatus)}
          </span>
        </div>
        {socketStatus === 'open' && <WhoIsHere clients={clients} count={roomCount} />}
        <ChatList
          messages={messages}
          ownUserId={user?.userId}
          canModerate={can(user, 'any_chat_message', 'delete')}
          onDelete={remove}
          onLike={like}
          hasOlder={!!nextCursor}
          loadingOlder={loadingOlder}
          onLoadOlder={() => void loadOlder()}
        />
        <ErrorAlert message={chatError} />
        {user ? <ChatForm send={send} /> : user === null ? <SignInToChat /> : null}
      </section>
    </div>
  );
}
