import { useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { errorText, signIn } from '../api';
import ErrorAlert from '../components/ErrorAlert';
import Field from '../components/Field';
import { useSession } from '../session';

/** Only same-site paths are followed after signing in. */
function safeNext(v: unknown): string {
  return typeof v === 'string' && v.startsWith('/') && !v.startsWith('//') ? v : '/';
}

export default function SignInPage() {
  const { setUser } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await signIn(login, password);
      setUser(user);
      navigate(safeNext((location.state as { from?: unknown } | null)?.from), { replace: true });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return (
    <section className="card narrow" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <form onSubmit={onSubmit} noValidate>
        <Field
          label="Username or email"
          value={login}
          onValueChange={setLogin}
          name="login"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onValueChange={setPassword}
          name="password"
          autoComplete="current-password"
          required
        />
        <ErrorAlert message={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="muted">
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p className="muted">
        New here? <Link to="/signup">Create an account</Link>.
      </p>
    </section>
  );
}
