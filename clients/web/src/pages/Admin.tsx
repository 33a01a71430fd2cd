import { useState } from 'react';
import { Link } from 'react-router-dom';
import { can, changeRole, listUsers } from '../api';
import { userPath } from '../components/BroadcastCard';
import ErrorAlert from '../components/ErrorAlert';
import { formatDateTime } from '../format';
import { useAction, usePaged } from '../hooks';
import { useSession } from '../session';
import type { AdminUser } from '../types';

const ROLES = ['streamer', 'superadmin'];

function RoleCell({ u, editable, onChanged }: { u: AdminUser; editable: boolean; onChanged: () => void }) {
  const [role, setRole] = useState(u.role);
  const { busy, error, run } = useAction();
  if (!editable) return <>{u.role}</>;
  const save = () => run(() => changeRole(u.userId, role).then(onChanged));
  const id = `role-${String(u.userId)}`;
  return (
    <div className="role-cell">
      <label htmlFor={id} className="visually-hidden">
        Role of {u.username}
      </label>
      <select id={id} value={role} onChange={(e) => setRole(e.target.value)}>
        {ROLES.includes(u.role) ? null : <option value={u.role}>{u.role}</option>}
        {ROLES.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>
      {role !== u.role && (
        <button type="button" className="small-button" disabled={busy} onClick={() => void save()} aria-label={`Save the role of ${u.username}`}>
          Save
        </button>
      )}
      <ErrorAlert message={error} />
    </div>
  );
}

const fetchUsers = (next: string | null) =>
  listUsers({ limit: 50, nextCursor: next }).then((p) => ({ items: p.users, nextCursor: p.nextCursor }));

export default function AdminPage() {
  const { user } = useSession();
  const { items: users, cursor, busy, error, load } = usePaged(fetchUsers);

  const canEdit = can(user, 'any_user_account', 'update');
  return (
    <>
      <h1>Administration</h1>
      <p className="muted">
        Moderators delete any chat message from the broadcast's page: a <strong>Remove</strong> button appears on every
        message there.
      </p>
      <section className="card" aria-labelledby="users-title">
        <h2 id="users-title">Users</h2>
        <ErrorAlert message={error} />
        {users === null && !error && <p role="status">Loading…</p>}
        {users && (
          <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="users-title">
            <table className="users">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Joined</th>
                  <th scope="col">Last sign-in</th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={String(u.userId)}>
                    <th scope="row">
                      {u.isDeleted ? u.username : <Link to={userPath(u.username)}>{u.username}</Link>}
                      {u.displayName && <div className="muted small">{u.displayName}</div>}
                    </th>
                    <td className="break">{u.email}</td>
                    <td>
                      <RoleCell
                        u={u}
                        editable={canEdit && !u.isDeleted && String(u.userId) !== String(user?.userId)}
                        onChanged={() => void load(null)}
                      />
                    </td>
                    <td>{u.isDeleted ? `Deleted ${formatDateTime(u.deletedAt)}` : u.isEmailConfirmed ? 'Confirmed' : 'Unconfirmed'}</td>
                    <td>{formatDateTime(u.createdAt)}</td>
                    <td>{u.lastLoginAt ? formatDateTime(u.lastLoginAt) : 'never'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {cursor && (
          <button type="button" className="secondary" disabled={busy} onClick={() => void load(cursor)}>
            {busy ? 'Loading…' : 'Show more users'}
          </button>
        )}
      </section>
    </>
  );
}
