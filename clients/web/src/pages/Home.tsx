import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { errorText, listBroadcasts, listLive } from '../api';
import BroadcastCard from '../components/BroadcastCard';
import ErrorAlert from '../components/ErrorAlert';
import { usePaged } from '../hooks';
import { useSession } from '../session';
import type { Broadcast } from '../types';

const LIVE_REFRESH_MS = 30_000;

function LiveNow() {
  const [live, setLive] = useState<Broadcast[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    const load = () =>
      listLive().then(
        (b) => {
          if (!active) return;
          setLive(b);
          setError(null);
        },
        (err: unknown) => active && setError(errorText(err)),
      );
    void load();
    const t = setInterval(load, LIVE_REFRESH_MS);
    return () => {
      active = false;
      clearInterval(t);
    };
  }, []);

  return (
    <section className="home-section" aria-labelledby="live-title">
      <h2 id="live-title">Live now</h2>
      <ErrorAlert message={error} />
      {live === null && !error && <p role="status">Loading…</p>}
      {live?.length === 0 && <p className="muted">Nobody is on air right now. See what is coming up below.</p>}
      {live && live.length > 0 && (
        <ul className="card-grid">
          {live.map((b) => (
            <li key={String(b.broadcastId)}>
              <BroadcastCard broadcast={b} kind="live" />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A paginated listing (`GET /broadcasts?time=`), with "Show more" while there is a next page. */
function Listing({ time, title, empty }: { time: 'future' | 'past'; title: string; empty: string }) {
  const fetchPage = useCallback(
    (next: string | null) =>
      listBroadcasts(time, { limit: 12, nextCursor: next }).then((p) => ({ items: p.broadcasts, nextCursor: p.nextCursor })),
    [time],
  );
  const { items, cursor, busy, error, load } = usePaged(fetchPage);

  const id = `${time}-title`;
  return (
    <section className="home-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ErrorAlert message={error} />
      {items === null && !error && <p role="status">Loading…</p>}
      {items?.length === 0 && <p className="muted">{empty}</p>}
      {items && items.length > 0 && (
        <ul className="card-grid">
          {items.map((b) => (
            <li key={String(b.broadcastId)}>
              <BroadcastCard broadcast={b} kind={time} />
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" className="secondary" onClick={() => void load(cursor)} disabled={busy}>
          {busy ? 'Loading…' : 'Show more'}
        </button>
      )}
    </section>
  );
}

export default function HomePage() {
  const { user } = useSession();
  return (
    <>
      <section className="hero">
        <h1>Live audio, straight from the booth</h1>
        <p className="lead">
          DJs stream their sets live; listeners tune in, chat along and play every set back later.
        </p>
        {user === null && (
          <p className="actions">
            <Link to="/signup" className="button">
              Sign up
            </Link>
            <Link to="/signin" className="button secondary">
              Sign in
            </Link>
          </p>
        )}
        {user && (
          <p className="actions">
            <Link to="/dashboard" className="button">
              Your broadcasts
            </Link>
          </p>
        )}
      </section>
      <LiveNow />
      <Listing time="future" title="Coming up" empty="Nothing is scheduled yet." />
      <Listing time="past" title="Recent recordings" empty="No recordings yet." />
    </>
  );
}
