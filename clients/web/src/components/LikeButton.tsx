import { useState } from 'react';
import { ApiError, errorText, likeStream } from '../api';
import { useCooldown } from '../hooks';
import { plural } from '../format';
import type { Id } from '../types';
import ErrorAlert from './ErrorAlert';

/** The server allows one like per user per broadcast every 10 s. */
export const LIKE_COOLDOWN_S = 10;

/**
 * Likes the live broadcast. After a like (or a 429) the button waits out the
 * cooldown and shows how long is left.
 */
export default function LikeButton({
  broadcastId,
  likeCount,
  signedIn,
  onLiked,
}: {
  broadcastId: Id;
  likeCount: number;
  signedIn: boolean;
  onLiked: () => void;
}) {
  const { remaining, start } = useCooldown();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState('');

  async function like() {
    setBusy(true);
    setError(null);
    try {
      await likeStream(broadcastId);
      onLiked();
      start(LIKE_COOLDOWN_S);
      setNote(`Thanks for the like! You can like again in ${LIKE_COOLDOWN_S} seconds.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        start(err.retryAfter ?? LIKE_COOLDOWN_S);
        setNote(`${err.message} You can like again in ${err.retryAfter ?? LIKE_COOLDOWN_S} seconds.`);
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="like">
      <button
        type="button"
        className="like-button"
        onClick={() => void like()}
        disabled={!signedIn || busy || remaining > 0}
        aria-describedby="like-count"
        title={signedIn ? undefined : 'Sign in to like'}
      >
        <span aria-hidden="true">♥</span> Like
      </button>
      <span id="like-count" className="muted">
        {plural(likeCount, 'like')}
      </span>
      {remaining > 0 && (
        <span className="cooldown muted small" data-testid="like-cooldown" aria-hidden="true">
          again in {remaining} s
        </span>
      )}
      <span className="visually-hidden" role="status">
        {remaining > 0 ? note : ''}
      </span>
      <ErrorAlert message={error} />
    </div>
  );
}
