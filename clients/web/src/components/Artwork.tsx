import type { Broadcast } from '../types';

export const DEFAULT_ARTWORK = '/api/v1/artwork/default.svg';

/** A broadcast's artwork (decorative: the title next to it says what it is). */
export default function Artwork({ broadcast, size = 'md' }: { broadcast: Pick<Broadcast, 'artworkUrl'>; size?: 'sm' | 'md' | 'lg' }) {
  return (
    <img
      className={`artwork artwork-${size}`}
      src={broadcast.artworkUrl || DEFAULT_ARTWORK}
      alt=""
      loading="lazy"
      decoding="async"
    />
  );
}
