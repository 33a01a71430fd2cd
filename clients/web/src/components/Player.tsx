import { useEffect, useRef, useState } from 'react';
import { useNow } from '../hooks';
import { formatClock, plural } from '../format';

function mediaErrorText(el: HTMLAudioElement): string {
  const code = el.error?.code;
  if (code === 2) return 'The network failed while loading the audio. Press Play to try again.';
  if (code === 3 || code === 4) return 'The audio could not be played in this browser.';
  return 'The audio stopped. Press Play to try again.';
}

/**
 * The live player: Play/Stop (Stop drops the connection, so Play comes back
 * to the live edge), volume, how long it has been on air and the listeners.
 */
export function LivePlayer({
  src,
  title,
  startedAt,
  listeners,
}: {
  src: string;
  title: string;
  /** When the broadcast went on air (ISO), for the timer. */
  startedAt: string;
  listeners: number | null;
}) {
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [waiting, setWaiting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [volume, setVolume] = useState(1);
  const now = useNow(1000);
  const started = Date.parse(startedAt);
  const onAir = Number.isNaN(started) ? 0 : (now - started) / 1000;

  useEffect(() => {
    if (audio.current) audio.current.volume = volume;
  }, [volume]);

  // Leaving the page (or the stream ending) must not leave a connection open.
  useEffect(() => {
    const el = audio.current;
    return () => {
      if (!el) return;
      el.pause();
      el.removeAttribute('src');
      el.load();
    };
  }, []);

  async function play() {
    const el = audio.current;
    if (!el) return;
    setError(null);
    setWaiting(true);
    el.src = src;
    try {
      await el.play();
      setPlaying(true);
    } catch (err) {
      setWaiting(false);
      if (!(err instanceof DOMException && err.name === 'AbortError')) {
        setError(err instanceof DOMException && err.name === 'NotAllowedError'
          ? 'The browser blocked playback: press Play again.'
          : mediaErrorText(el));
      }
    }
  }

  function stop() {
    const el = audio.current;
    if (!el) return;
    el.pause();
    el.removeAttribute('src');
    el.load();
    setPlaying(false);
    setWaiting(false);
  }

  return (
    <div className="player live-player">
      <audio
        ref={audio}
        preload="none"
        aria-label={`Live audio: ${title}`}
        onPlaying={() => setWaiting(false)}
        onWaiting={() => setWaiting(true)}
        onError={(e) => {
          // An error after Stop (no src) is ours, not the stream's.
          if (!e.currentTarget.getAttribute('src')) return;
          setError(mediaErrorText(e.currentTarget));
          setPlaying(false);
          setWaiting(false);
        }}
      />
      <button
        type="button"
        className="play-button"
        data-testid="play"
        onClick={() => (playing ? stop() : void play())}
        aria-label={playing ? `Stop listening to ${title}` : `Play ${title} live`}
      >
        <span aria-hidden="true">{playing ? '■' : '▶'}</span> {playing ? 'Stop' : 'Play'}
      </button>
      <div className="player-info">
        <span data-testid="on-air-timer">
          On air <span className="mono">{formatClock(onAir)}</span>
        </span>
        <span data-testid="listener-count">{listeners === null ? '' : plural(listeners, 'listener')}</span>
        {playing && waiting && <span className="muted small">buffering…</span>}
      </div>
      <label className="volume">
        <span className="visually-hidden">Volume</span>
        <span aria-hidden="true" className="muted small">
          Vol
        </span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={volume}
          onChange={(e) => setVolume(Number(e.target.value))}
        />
      </label>
      {error && (
        <p className="alert player-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** An ended broadcast's recording: the browser's own controls (seeking uses Range requests). */
export function RecordingPlayer({ src, title }: { src: string; title: string }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="player">
      <audio
        className="recording"
        controls
        preload="metadata"
        src={src}
        aria-label={`Recording: ${title}`}
        data-testid="recording"
        onError={(e) => setError(`The recording could not be loaded. ${mediaErrorText(e.currentTarget)}`)}
      />
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
