import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { createBroadcast, deleteBroadcast, errorText, getMyBroadcasts, updateBroadcast } from '../api';
import Artwork from '../components/Artwork';
import { broadcastPath } from '../components/BroadcastCard';
import BroadcastForm from '../components/BroadcastForm';
import ErrorAlert from '../components/ErrorAlert';
import LiveBadge from '../components/LiveBadge';
import { formatWindow } from '../format';
import { useAction } from '../hooks';
import type { Broadcast, GroupedBroadcasts } from '../types';

function MyBroadcast({ b, onChanged }: { b: Broadcast; onChanged: () => Promise<void> }) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const { busy, error } = action;
  const id = String(b.broadcastId);
  const run = (fn: () => Promise<unknown>) => action.run(() => fn().then(onChanged));

  return (
    <li className="my-broadcast" data-broadcast-id={id}>
      <div className="my-broadcast-row">
        <Artwork broadcast={b} size="sm" />
        <div className="my-broadcast-info">
          <h3>
            <Link to={broadcastPath(b)}>{b.title}</Link>
          </h3>
          <p className="muted small">
            {formatWindow(b.startAt, b.endAt)} · {b.isLive && <LiveBadge live />}{' '}
            <span className={b.isVisible ? 'tag' : 'tag tag-hidden'}>{b.isVisible ? 'Public' : 'Hidden'}</span>
          </p>
        </div>
      </div>
      <p className="actions">
        <button type="button" className="secondary small-button" onClick={() => setEditing((v) => !v)} aria-expanded={editing} aria-label={`Edit ${b.title}`}>
          Edit
        </button>
        <button
          type="button"
          className="secondary small-button"
          disabled={busy}
          aria-label={`${b.isVisible ? 'Hide' : 'Publish'} ${b.title}`}
          onClick={() => void run(() => updateBroadcast(b.broadcastId, { isVisible: !b.isVisible }))}
        >
          {b.isVisible ? 'Hide' : 'Publish'}
        </button>
        <button type="button" className="danger small-button" disabled={busy} onClick={() => setConfirming(true)} aria-label={`Delete ${b.title}`}>
          Delete
        </button>
      </p>
      {confirming && (
        <div className="confirm" role="group" aria-labelledby={`del-q-${id}`}>
          <p id={`del-q-${id}`}>
            Delete <strong>{b.title}</strong>? Its chat, likes and recording go with it.
          </p>
          <button type="button" className="danger" disabled={busy} onClick={() => void run(() => deleteBroadcast(b.broadcastId))}>
            Yes, delete it
          </button>{' '}
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorAlert message={error} />
      {editing && (
        <BroadcastForm
          initial={b}
          submitLabel="Save changes"
          onCancel={() => setEditing(false)}
          onSubmit={async ({ fields, artwork }) => {
            await updateBroadcast(b.broadcastId, fields, artwork);
            setEditing(false);
            await onChanged();
          }}
        />
      )}
      {!b.isLive && !b.recordingUrl && Date.parse(b.endAt) > Date.now() && (
        <details className="howto">
          <summary>How to go live in it</summary>
          <pre>
            <code>{`livestreamer-source stream ${id}`}</code>
          </pre>
          <p className="small muted">
            Or stream to your Icecast mount from ffmpeg, BUTT or Mixxx during its window: see the{' '}
            <Link to="/settings">stream key settings</Link>.
          </p>
        </details>
      )}
    </li>
  );
}

const GROUPS: { key: keyof GroupedBroadcasts; title: string; empty: string }[] = [
  { key: 'current', title: 'Now', empty: 'Nothing scheduled for now.' },
  { key: 'future', title: 'Upcoming', empty: 'Nothing upcoming.' },
  { key: 'past', title: 'Past', empty: 'No past broadcasts yet.' },
];

export default function DashboardPage() {
  const [mine, setMine] = useState<GroupedBroadcasts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Broadcast | null>(null);

  const reload = useCallback(async () => {
    try {
      setMine(await getMyBroadcasts());
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  return (
    <>
      <h1>Your broadcasts</h1>
      <section className="card" aria-labelledby="schedule-title">
        <h2 id="schedule-title">Schedule a broadcast</h2>
        <BroadcastForm
          submitLabel="Schedule"
          onSubmit={async ({ fields, artwork }) => {
            const b = await createBroadcast(
              { title: fields.title ?? '', startAt: fields.startAt ?? '', endAt: fields.endAt ?? '', description: fields.description || undefined },
              artwork,
            );
            setCreated(b);
            await reload();
          }}
        />
        {created && (
          <p role="status" className="success">
            Scheduled: <Link to={broadcastPath(created)}>{created.title}</Link>.
          </p>
        )}
      </section>
      <ErrorAlert message={error} />
      {mine === null && !error && <p role="status">Loading…</p>}
      {mine &&
        GROUPS.map((g) => (
          <section key={g.key} className="card" aria-labelledby={`mine-${g.key}`}>
            <h2 id={`mine-${g.key}`}>{g.title}</h2>
            {mine[g.key].length === 0 ? (
              <p className="muted">{g.empty}</p>
            ) : (
              <ul className="my-broadcasts">
                {mine[g.key].map((b) => (
                  <MyBroadcast key={String(b.broadcastId)} b={b} onChanged={reload} />
                ))}
              </ul>
            )}
          </section>
        ))}
    </>
  );
}
