import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { requestPasswordReset } from '../api';
import { useAction } from '../hooks';
import ErrorAlert from '../components/ErrorAlert';
import Field from '../components/Field';

export default function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const { busy, error, run } = useAction();
  const [sent, setSent] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setSent(await run(() => requestPasswordReset(email)));
  }

  return (
    <section className="card narrow" aria-labelledby="forgot-title">
      <h1 id="forgot-title">Forgot your password?</h1>
      {sent ? (
        <p role="status">
          If <strong>{email.trim()}</strong> belongs to a confirmed account, a link to choose a new password is on its
          way. It works for one hour.
        </p>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Field
            label="Email"
            hint="The address of your account."
            type="email"
            value={email}
            onValueChange={setEmail}
            name="email"
            autoComplete="email"
            required
          />
          <ErrorAlert message={error} />
          <button type="submit" disabled={busy || !email.trim()}>
            {busy ? 'Sending…' : 'Send me a link'}
          </button>
        </form>
      )}
      <p className="muted">
        <Link to="/signin">Back to sign in</Link>
      </p>
    </section>
  );
}
