import type { RoomClient } from '../types';
import { plural } from '../format';

/** Who is in the room: the signed-in people by name (once each), and how many guests. */
export default function WhoIsHere({ clients, count }: { clients: RoomClient[]; count: number | null }) {
  const names = [...new Set(clients.map((c) => c.username).filter((u): u is string => !!u))].sort((a, b) =>
    a.localeCompare(b),
  );
  const guests = clients.filter((c) => !c.username).length;
  const total = count ?? clients.length;
  return (
    <details className="who">
      <summary>
        <span data-testid="room-count">{plural(total, 'person', 'people')} here</span>
      </summary>
      <ul className="who-list" aria-label="Who is here">
        {names.map((n) => (
          <li key={n}>{n}</li>
        ))}
        {guests > 0 && <li className="muted">{plural(guests, 'guest')}</li>}
      </ul>
    </details>
  );
}
