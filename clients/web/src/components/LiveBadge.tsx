export default function LiveBadge({ live }: { live: boolean }) {
  return live ? (
    <span className="badge badge-live" data-testid="live-badge">
      <span className="pulse" aria-hidden="true" />
      LIVE
    </span>
  ) : (
    <span className="badge badge-off" data-testid="live-badge">
      Off air
    </span>
  );
}
