import { Link } from 'react-router-dom';
import { formatClock, formatDateTime, formatWindow, plural } from '../format';
import type { Broadcast } from '../types';
import Artwork from './Artwork';
import LiveBadge from './LiveBadge';

export function broadcastPath(b: Pick<Broadcast, 'broadcastId'>): string {
  return `/broadcasts/${encodeURIComponent(String(b.broadcastId))}`;
}

export function userPath(username: string): string {
  return `/users/${encodeURIComponent(username)}`;
}

/** One broadcast in a listing: artwork, title (the link), DJ, and what fits its time group. */
export default function BroadcastCard({ broadcast: b, kind }: { broadcast: Broadcast; kind: 'live' | 'future' | 'past' }) {
  return (
    <article className="bcard">
      <Artwork broadcast={b} />
      <div className="bcard-body">
        {kind === 'live' && <LiveBadge live />}
        <h3 className="bcard-title">
          <Link to={broadcastPath(b)}>{b.title}</Link>
        </h3>
        <p className="muted small">
          by <Link to={userPath(b.username)}>{b.username}</Link>
        </p>
        <p className="muted small">
          {kind === 'live' && plural(b.listenerCount ?? 0, 'listener')}
          {kind === 'future' && formatWindow(b.startAt, b.endAt)}
          {kind === 'past' &&
            `${formatDateTime(b.startAt)}${b.durationSec ? ` · ${formatClock(b.durationSec)}` : ''}`}
        </p>
      </div>
    </article>
  );
}
