import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { errorText, verifyEmail } from '../api';
import ErrorAlert from '../components/ErrorAlert';

// A confirmation token is single-use: however often the page mounts (React's
// StrictMode mounts twice in development), each token is sent only once.
const attempts = new Map<string, Promise<void>>();

function verifyOnce(token: string): Promise<void> {
  let p = attempts.get(token);
  if (!p) {
    p = verifyEmail(token);
    attempts.set(token, p);
  }
  return p;
}

type State = { kind: 'working' } | { kind: 'done' } | { kind: 'failed'; message: string };

export default function VerifyPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [state, setState] = useState<State>({ kind: 'working' });

  useEffect(() => {
    if (!token) {
      setState({ kind: 'failed', message: 'This confirmation link has no token. Open the link from the email again.' });
      return;
    }
    let live = true;
    setState({ kind: 'working' });
    verifyOnce(token).then(
      () => live && setState({ kind: 'done' }),
      (err: unknown) => live && setState({ kind: 'failed', message: errorText(err) }),
    );
    return () => {
      live = false;
    };
  }, [token]);

  return (
    <section className="card narrow" aria-labelledby="verify-title">
      <h1 id="verify-title">Confirm your email</h1>
      {state.kind === 'working' && <p role="status">Confirming…</p>}
      {state.kind === 'done' && (
        <p role="status">
          Email confirmed, you can sign in. <Link to="/signin">Sign in</Link>
        </p>
      )}
      {state.kind === 'failed' && (
        <>
          <ErrorAlert message={state.message} />
          <p>
            <Link to="/signin">Go to sign in</Link>
          </p>
        </>
      )}
    </section>
  );
}
