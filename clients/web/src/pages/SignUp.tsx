import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { signUp } from '../api';
import Field from '../components/Field';
import FormAlert from '../components/FormAlert';
import { useFormErrors } from '../hooks';

const FIELDS = ['username', 'email', 'password', 'displayName'] as const;

export default function SignUpPage() {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const { errors, formRef, busy, submit } = useFormErrors(FIELDS);
  const [sentTo, setSentTo] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const to = email.trim();
    if (await submit(() => signUp({ username: username.trim(), email: to, password, displayName }))) setSentTo(to);
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
      <form onSubmit={onSubmit} noValidate ref={formRef}>
        <Field
          label="Username"
          hint="3 to 16 characters: letters, digits, dot, underscore or hyphen."
          value={username}
          onValueChange={setUsername}
          name="username"
          error={errors.username}
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
          error={errors.email}
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
          error={errors.password}
          autoComplete="new-password"
          required
        />
        <Field
          label="Display name (optional)"
          hint="Shown on your profile instead of your username."
          value={displayName}
          onValueChange={setDisplayName}
          name="displayName"
          error={errors.displayName}
          autoComplete="nickname"
        />
        <FormAlert errors={errors} />
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
