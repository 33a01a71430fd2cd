import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { describe, expect, it } from 'vitest';
import { SessionProvider } from '../session';
import { errorEnvelope, json, on, stubFetch } from '../test/http';
import SignInPage from './SignIn';

const signedOut = on('GET', '/api/v1/users/me', () => errorEnvelope(401, 'Unauthorized', 'You are not signed in.'));

function renderSignIn() {
  return render(
    <MemoryRouter initialEntries={['/signin']}>
      <SessionProvider>
        <Routes>
          <Route path="/signin" element={<SignInPage />} />
          <Route path="/" element={<p>home page</p>} />
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  );
}

async function submit(login: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Username or email'), login);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('SignInPage', () => {
  it("shows the server's message on 401", async () => {
    stubFetch(
      signedOut,
      on('POST', '/api/v1/sessions', () => errorEnvelope(401, 'Unauthorized', 'Wrong username or password.')),
    );
    renderSignIn();
    await submit('dj_mix', 'wrong-password');
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong username or password.');
    expect(screen.queryByText('home page')).toBeNull();
  });

  it("shows the server's message on 403 (email not confirmed), signing in by email", async () => {
    const fetch = stubFetch(
      signedOut,
      on('POST', '/api/v1/sessions', () =>
        errorEnvelope(403, 'Forbidden', 'Confirm your email first: look for the confirmation mail in your inbox.'),
      ),
    );
    renderSignIn();
    await submit('dj@example.com', 'correct-horse');
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Confirm your email first: look for the confirmation mail in your inbox.',
    );
    const post = fetch.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(JSON.parse(post?.[1]?.body as string)).toEqual({ email: 'dj@example.com', password: 'correct-horse' });
  });

  it('goes home once signed in', async () => {
    stubFetch(
      signedOut,
      on('POST', '/api/v1/sessions', () => json(200, { results: { userId: 1, username: 'dj_mix' } })),
    );
    renderSignIn();
    await submit('dj_mix', 'correct-horse');
    expect(await screen.findByText('home page')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
