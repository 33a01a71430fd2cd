import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { can } from '../api';
import { useSession } from '../session';

/** Renders its children for a signed-in user (with the permission, when one is named). */
export default function RequireUser({
  children,
  permission,
}: {
  children: ReactNode;
  permission?: [resource: string, action: string];
}) {
  const { user } = useSession();
  const location = useLocation();
  if (user === undefined) return <p role="status">Loading…</p>;
  if (user === null) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  if (permission && !can(user, ...permission)) {
    return (
      <section className="card narrow">
        <h1>Not allowed</h1>
        <p role="alert">Your account is not allowed to see this page.</p>
      </section>
    );
  }
  return <>{children}</>;
}
