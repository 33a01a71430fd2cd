import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { errorText, signUp } from '../api';
import ErrorAlert from '../components/ErrorAlert';
import Field from '../components/Field';

export default function SignUpPage() {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signUp({ username: username.trim(), email: email.trim(), password, displayName });
      setSentTo(email.trim());
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  if (sentTo !== null) {
    return (
      <section className="card narrow" aria-labelledby="signup-done">
        <h1 id="signup-done">Check your inbox</h1>
        <p role="status">
          We sent a confirmation link to <strong>{sentTo}</strong>. Open it to confirm your address, then{' '}
          <Link to="/signin">sign in</Link>. The link works for 24 hours.
        </p>
      </section>
    );
  }

  // The hints mirror the server's rules; the server decides, and its message is what is shown.
  return (
    <section className="card narrow" aria-labelledby="signup-title">
      <h1 id="signup-title">Sign up</h1>
      <form onSubmit={onSubmit} noValidate>
        <Field
          label="Username"
          hint="3 to 16 characters: letters, digits, dot, underscore or hyphen."
          value={username}
          onValueChange={setUsername}
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
        />
        <Field
          label="Email"
          hint="We send a confirmation link here."
          type="email"
          value={email}
          onValueChange={setEmail}
          name="email"
          autoComplete="email"
          required
        />
        <Field
          label="Password"
          hint="8 to 128 characters, and not one of the most common passwords."
          type="password"
          value={password}
          onValueChange={setPassword}
          name="password"
          autoComplete="new-password"
          required
        />
        <Field
          label="Display name (optional)"
          hint="Shown on your profile instead of your username."
          value={displayName}
          onValueChange={setDisplayName}
          name="displayName"
          autoComplete="nickname"
        />
        <ErrorAlert message={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing up…' : 'Sign up'}
        </button>
      </form>
      <p className="muted">
        Already have an account? <Link to="/signin">Sign in</Link>.
      </p>
    </section>
  );
}
