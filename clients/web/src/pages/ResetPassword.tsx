import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { resetPassword } from '../api';
import Field from '../components/Field';
import FormAlert from '../components/FormAlert';
import { useFormErrors } from '../hooks';

const FIELDS = ['newPassword', 'password', 'token'] as const;

export default function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const { errors, formRef, busy, submit } = useFormErrors(FIELDS);
  const mismatch = repeat !== '' && password !== repeat;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (mismatch) return;
    setDone(await submit(() => resetPassword(token, password)));
  }

  return (
    <section className="card narrow" aria-labelledby="reset-title">
      <h1 id="reset-title">Choose a new password</h1>
      {!token ? (
        <p role="alert" className="alert">
          This link has no token. Open the link from the email again, or <Link to="/forgot-password">ask for a new one</Link>.
        </p>
      ) : done ? (
        <p role="status">
          Your password is changed, and every session of your account was signed out.{' '}
          <Link to="/signin">Sign in</Link>
        </p>
      ) : (
        <form onSubmit={onSubmit} noValidate ref={formRef}>
          <Field
            label="New password"
            hint="8 to 128 characters, and not one of the most common passwords."
            type="password"
            value={password}
            onValueChange={setPassword}
            error={errors.newPassword ?? errors.password}
            autoComplete="new-password"
            required
          />
          <Field
            label="Repeat the new password"
            type="password"
            value={repeat}
            onValueChange={setRepeat}
            error={mismatch ? 'The two passwords differ.' : null}
            autoComplete="new-password"
            required
          />
          <FormAlert errors={errors.token ? { '': errors.token } : errors} />
          <button type="submit" disabled={busy || !password || mismatch}>
            {busy ? 'Saving…' : 'Save the new password'}
          </button>
          <p className="muted small">
            Link expired? <Link to="/forgot-password">Ask for a new one</Link>.
          </p>
        </form>
      )}
    </section>
  );
}
