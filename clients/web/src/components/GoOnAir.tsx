import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { createBroadcast, errorText } from '../api';
import type { Broadcast } from '../types';
import ErrorAlert from './ErrorAlert';
import Field from './Field';

const HOUR_MS = 60 * 60 * 1000;

/** How to stream into a broadcast: the DJ's CLI, or any HTTP client. */
export function StreamInstructions({ broadcastId, origin }: { broadcastId: Broadcast['broadcastId']; origin: string }) {
  const id = String(broadcastId);
  const cli = `livestreamer-source stream ${id} --input set.mp3`;
  const curl =
    `curl -T set.mp3 -H 'Content-Type: audio/mpeg' -H 'Transfer-Encoding: chunked' ` +
    `-b 'sess.sid=…' ${origin}/api/v1/users/me/broadcasts/${encodeURIComponent(id)}/stream`;
  return (
    <div className="instructions">
      <p>Stream into it with the LiveStreamer source client:</p>
      <pre>
        <code>{cli}</code>
      </pre>
      <p>
        or with any HTTP client that can send a chunked upload, using your session cookie{' '}
        <code>sess.sid</code> (your browser's developer tools show it):
      </p>
      <pre>
        <code>{curl}</code>
      </pre>
    </div>
  );
}

/** Create a broadcast that starts now and lasts an hour, then show how to stream into it. */
export default function GoOnAir() {
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Broadcast | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const now = Date.now();
      const b = await createBroadcast({
        title: title.trim(),
        startAt: new Date(now).toISOString(),
        endAt: new Date(now + HOUR_MS).toISOString(),
      });
      setCreated(b);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="go-on-air-title">
      <h2 id="go-on-air-title">Go on air</h2>
      {created ? (
        <>
          <p>
            Your broadcast <strong>{created.title}</strong> is ready for the next hour.{' '}
            <Link to={`/broadcasts/${encodeURIComponent(String(created.broadcastId))}`}>Open its page</Link> to
            listen and chat.
          </p>
          <StreamInstructions broadcastId={created.broadcastId} origin={window.location.origin} />
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setCreated(null);
              setTitle('');
            }}
          >
            Create another
          </button>
        </>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <p className="muted">Starts now, ends in one hour.</p>
          <Field
            label="Title"
            hint="5 to 70 characters."
            value={title}
            onValueChange={setTitle}
            name="title"
            autoComplete="off"
          />
          <ErrorAlert message={error} />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create broadcast'}
          </button>
        </form>
      )}
    </section>
  );
}
