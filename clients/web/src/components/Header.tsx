import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { errorText } from '../api';
import { useSession } from '../session';

export default function Header() {
  const { user, signOut } = useSession();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSignOut() {
    setBusy(true);
    setError(null);
    try {
      await signOut();
      navigate('/');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <header className="site-header">
      <div className="container bar">
        <Link to="/" className="brand">
          <span className="brand-dot" aria-hidden="true" />
          LiveStreamer
        </Link>
        <nav aria-label="Account" className="account">
          {user === undefined ? null : user ? (
            <>
              <span className="whoami" title="Signed in">
                @{user.username}
              </span>
              <button type="button" className="link-button" onClick={onSignOut} disabled={busy}>
                Sign out
              </button>
            </>
          ) : (
            <>
              <Link to="/signin">Sign in</Link>
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
