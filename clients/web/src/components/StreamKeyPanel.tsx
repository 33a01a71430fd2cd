import { useEffect, useState } from 'react';
import { getStreamKey, rotateStreamKey } from '../api';
import { useAction } from '../hooks';
import { formatDateTime } from '../format';
import type { StreamKey } from '../types';
import ErrorAlert from './ErrorAlert';

/** The edge's Icecast source port (8000 by default; the build can say otherwise). */
const SOURCE_PORT: string = import.meta.env.VITE_SOURCE_PORT || '8000';
const PLACEHOLDER = 'YOUR_STREAM_KEY';

export interface SourceSettings {
  host: string;
  port: string;
  mount: string;
  user: string;
  password: string;
  origin: string;
}

const settingLines = (settings: Record<string, string>) =>
  Object.entries(settings)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');

/** Ready-to-paste settings for each tool. */
export function sourceRecipes(s: SourceSettings): { name: string; text: string }[] {
  return [
    {
      name: 'ffmpeg',
      text:
        `ffmpeg -re -i set.mp3 -c:a libmp3lame -b:a 192k -content_type audio/mpeg \\\n` +
        `  icecast://${s.user}:${s.password}@${s.host}:${s.port}${s.mount}`,
    },
    {
      name: 'BUTT (Settings → Main → Server → Add)',
      text: settingLines({
        Type: 'Icecast',
        Address: s.host,
        Port: s.port,
        Password: s.password,
        'Icecast mountpoint': s.mount,
        'Icecast user': s.user,
        'Audio codec': 'MP3',
      }),
    },
    {
      name: 'Mixxx (Preferences → Live Broadcasting)',
      text: settingLines({
        Type: 'Icecast 2',
        Host: s.host,
        Port: s.port,
        Mount: s.mount,
        Login: s.user,
        Password: s.password,
        Encoding: 'MP3, 192 kbps',
      }),
    },
    {
      name: 'LiveStreamer source CLI (signs in with your password, not the key)',
      text:
        `livestreamer-source --server ${s.origin} login\n` +
        'livestreamer-source stream                # go live now from the default input\n' +
        'livestreamer-source stream --tone 440     # or a test tone',
    },
  ];
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  }
  return (
    <>
      <button type="button" className="secondary small-button" onClick={() => void copy()}>
        {label}
      </button>
      <span role="status" className="muted small">
        {state === 'copied' ? 'Copied.' : state === 'failed' ? 'Could not copy: select the text and copy it.' : ''}
      </span>
    </>
  );
}

/**
 * The stream key: shown once, right after it is created or rotated (only its
 * hash is stored), with settings for ffmpeg, BUTT, Mixxx and the CLI.
 */
export default function StreamKeyPanel({ username }: { username: string }) {
  const [key, setKey] = useState<StreamKey | null>(null);
  const { busy, error, run } = useAction();
  const [confirmRotate, setConfirmRotate] = useState(false);

  useEffect(() => {
    void run(() => getStreamKey().then(setKey));
  }, [run]);

  const rotate = () =>
    run(async () => {
      setKey(await rotateStreamKey());
      setConfirmRotate(false);
    });

  const hasKey = !!key?.createdAt;
  const secret = key?.streamKey ?? null;
  const settings: SourceSettings = {
    host: window.location.hostname,
    port: SOURCE_PORT,
    mount: `/live/${username}`,
    user: 'source',
    password: secret ?? PLACEHOLDER,
    origin: window.location.origin,
  };

  return (
    <section className="card" aria-labelledby="key-title">
      <h2 id="key-title">Stream key</h2>
      <p className="muted">
        Icecast source clients (ffmpeg, BUTT, Mixxx) use it as their password. Anyone who has it can stream as you:
        keep it secret, and rotate it if it leaks.
      </p>
      {key === null && !error && <p role="status">Loading…</p>}
      {key && !hasKey && <p>You have no stream key yet.</p>}
      {hasKey && !secret && (
        <p>
          Your key was created {formatDateTime(key?.createdAt)}. It is stored hashed and cannot be shown again: rotate it
          to get a new one.
        </p>
      )}
      {secret && (
        <div className="key-box">
          <label htmlFor="stream-key">Your new stream key (shown only now)</label>
          <div className="key-row">
            <input id="stream-key" className="mono" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={secret} label="Copy key" />
          </div>
        </div>
      )}
      <ErrorAlert message={error} />
      {key &&
        (hasKey && !confirmRotate ? (
          <button type="button" className="secondary" onClick={() => setConfirmRotate(true)}>
            Rotate key
          </button>
        ) : hasKey ? (
          <div className="confirm" role="group" aria-labelledby="rotate-q">
            <p id="rotate-q">The old key stops working at once. Rotate it?</p>
            <button type="button" onClick={() => void rotate()} disabled={busy}>
              {busy ? 'Rotating…' : 'Yes, rotate'}
            </button>{' '}
            <button type="button" className="secondary" onClick={() => setConfirmRotate(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" onClick={() => void rotate()} disabled={busy}>
            {busy ? 'Creating…' : 'Create a stream key'}
          </button>
        ))}

      <h3 className="key-tools">Settings for your tools</h3>
      {!secret && (
        <p className="muted small">
          {PLACEHOLDER} stands for your key: create or rotate it above to get these with the key filled in.
        </p>
      )}
      {sourceRecipes(settings).map((r) => (
        <div key={r.name} className="recipe">
          <h4>{r.name}</h4>
          <pre>
            <code>{r.text}</code>
          </pre>
          <CopyButton text={r.text} label={`Copy ${r.name.split(' ')[0]} settings`} />
        </div>
      ))}
    </section>
  );
}
