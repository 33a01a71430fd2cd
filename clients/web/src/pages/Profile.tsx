import { useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { errorText, getPublicProfile, getUserBroadcasts } from '../api';
import BroadcastCard from '../components/BroadcastCard';
import ErrorAlert from '../components/ErrorAlert';
import { formatDateTime, safeHref } from '../format';
import type { GroupedBroadcasts, PublicProfile } from '../types';

export default function ProfilePage() {
  const { username = '' } = useParams();
  const [profile, setProfile] = useState<PublicProfile | null>(null);
  const [broadcasts, setBroadcasts] = useState<GroupedBroadcasts | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setProfile(null);
    setBroadcasts(null);
    setError(null);
    Promise.all([getPublicProfile(username), getUserBroadcasts(username)]).then(
      ([p, b]) => {
        if (!live) return;
        setProfile(p);
        setBroadcasts(b);
      },
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [username]);

  if (error) {
    return (
      <section className="card narrow">
        <h1>{username}</h1>
        <ErrorAlert message={error} />
      </section>
    );
  }
  if (!profile || !broadcasts) return <p role="status">Loading…</p>;
  const website = safeHref(profile.websiteUrl);
  const groups = [
    { kind: 'live' as const, list: broadcasts.current.filter((b) => b.isLive), title: 'Live now' },
    { kind: 'future' as const, list: broadcasts.future, title: 'Coming up' },
    { kind: 'past' as const, list: broadcasts.past, title: 'Recordings' },
  ];
  return (
    <>
      <section className="card profile" aria-labelledby="profile-name">
        <img className="avatar-lg" src={profile.profilePictureUrl} alt="" />
        <div>
          <h1 id="profile-name">{profile.displayName || profile.username}</h1>
          <p className="muted">
            @{profile.username} · joined {formatDateTime(profile.createdAt)}
          </p>
          {profile.about && <p className="description">{profile.about}</p>}
          {website && (
            <p>
              <a href={website} rel="noopener noreferrer nofollow" target="_blank">
                {profile.websiteUrl}
              </a>
            </p>
          )}
        </div>
      </section>
      {groups.map(
        (g) =>
          g.list.length > 0 && (
            <section key={g.kind} className="home-section" aria-label={g.title}>
              <h2>{g.title}</h2>
              <ul className="card-grid">
                {g.list.map((b) => (
                  <li key={String(b.broadcastId)}>
                    <BroadcastCard broadcast={b} kind={g.kind} />
                  </li>
                ))}
              </ul>
            </section>
          ),
      )}
      {groups.every((g) => g.list.length === 0) && <p className="muted">No public broadcasts yet.</p>}
    </>
  );
}
