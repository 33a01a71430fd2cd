import { Link, NavLink, useNavigate } from 'react-router-dom';
import { can } from '../api';
import { useAction } from '../hooks';
import { useSession } from '../session';

export default function Header() {
  const { user, signOut } = useSession();
  const navigate = useNavigate();
  const { busy, error, run } = useAction();

  async function onSignOut() {
    if (await run(signOut)) navigate('/');
  }

  return (
    <header className="site-header">
      <a href="#main" className="skip-link">
        Skip to the content
      </a>
      <div className="container bar">
        <Link to="/" className="brand">
          <span className="brand-dot" aria-hidden="true" />
          LiveStreamer
        </Link>
        <nav aria-label="Main" className="account">
          {user === undefined ? null : user ? (
            <>
              <NavLink to="/dashboard">Dashboard</NavLink>
              <NavLink to="/settings">Settings</NavLink>
              {can(user, 'any_user_account', 'read') && <NavLink to="/admin">Admin</NavLink>}
              <span className="whoami" title="Signed in">
                <img className="avatar-sm" src={user.profilePictureUrl ?? ''} alt="" />@{user.username}
              </span>
              <button type="button" className="link-button" onClick={onSignOut} disabled={busy}>
                Sign out
              </button>
            </>
          ) : (
            <>
              <NavLink to="/signin">Sign in</NavLink>
              <Link to="/signup" className="button small">
                Sign up
              </Link>
            </>
          )}
        </nav>
      </div>
      {error && (
        <div className="container">
          <p className="alert" role="alert">
            {error}
          </p>
        </div>
      )}
    </header>
  );
}
