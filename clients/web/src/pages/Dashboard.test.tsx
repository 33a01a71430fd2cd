import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { describe, expect, it } from 'vitest';
import { errorEnvelope, json, on, stubFetch } from '../test/http';
import type { Broadcast } from '../types';
import DashboardPage from './Dashboard';

const b: Broadcast = {
  broadcastId: 4,
  userId: 1,
  username: 'dj',
  title: 'Sunday slow jams',
  description: '',
  startAt: '2030-01-01T20:00:00.000Z',
  endAt: '2030-01-01T21:00:00.000Z',
  artworkUrl: '/api/v1/artwork/default.svg',
  isVisible: true,
  isLive: false,
};

const mine = (future: Broadcast[]) => on('GET', '/api/v1/users/me/broadcasts', () => json(200, { results: { past: [], current: [], future } }));

function renderDashboard() {
  return render(
    <MemoryRouter>
      <DashboardPage />
    </MemoryRouter>,
  );
}

describe('DashboardPage', () => {
  it("shows the API's validation errors under their fields and focuses the first", async () => {
    const fetch = stubFetch(
      mine([]),
      on('POST', '/api/v1/users/me/broadcasts', () =>
        errorEnvelope(400, 'BadRequest', 'title must be between 5 and 70 characters; startAt must be before endAt'),
      ),
    );
    renderDashboard();
    await screen.findByText('Nothing upcoming.');
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Title'), 'Hey');
    await user.click(screen.getByRole('button', { name: 'Schedule' }));
    const title = screen.getByLabelText('Title');
    expect(await screen.findByText('title must be between 5 and 70 characters')).toBeTruthy();
    expect(title.getAttribute('aria-invalid')).toBe('true');
    expect(title.getAttribute('aria-describedby')).toContain(screen.getByText('title must be between 5 and 70 characters').id);
    expect(screen.getByLabelText('Starts').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(title);
    expect(screen.getByRole('alert').textContent).toBe('Please correct the marked fields below.');
    const body = JSON.parse(fetch.mock.calls.find(([, i]) => i?.method === 'POST')?.[1]?.body as string);
    expect(Object.keys(body).sort()).toEqual(['endAt', 'startAt', 'title']);
  });

  it('previews the artwork and schedules with it as multipart', async () => {
    let posted: FormData | null = null;
    let list: Broadcast[] = [];
    stubFetch(
      (url, init) => (url === '/api/v1/users/me/broadcasts' && !init.method ? json(200, { results: { past: [], current: [], future: list } }) : undefined),
      mine(list),
      on('POST', '/api/v1/users/me/broadcasts', (init) => {
        posted = init.body as FormData;
        list = [b];
        return json(201, { results: b });
      }),
    );
    const created = 'blob:preview';
    URL.createObjectURL = () => created;
    URL.revokeObjectURL = () => {};
    renderDashboard();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Title'), 'Sunday slow jams');
    await user.upload(screen.getByLabelText('Artwork (optional)'), new File(['png'], 'art.png', { type: 'image/png' }));
    expect(screen.getByAltText('Preview of the chosen artwork').getAttribute('src')).toBe(created);
    await user.click(screen.getByRole('button', { name: 'Schedule' }));
    const status = await screen.findByText(/Scheduled:/);
    expect(within(status).getByRole('link').getAttribute('href')).toBe('/broadcasts/4');
    expect(posted).toBeInstanceOf(FormData);
    expect(JSON.parse(posted!.get('broadcast') as string).title).toBe('Sunday slow jams');
    expect((posted!.get('artwork') as File).name).toBe('art.png');
  });

  it('publishes, hides and deletes after a confirmation', async () => {
    let current = { ...b, isVisible: false };
    const calls: string[] = [];
    stubFetch(
      (url, init) => {
        if (url !== '/api/v1/users/me/broadcasts/4') return undefined;
        calls.push(`${init.method} ${init.body ?? ''}`);
        if (init.method === 'DELETE') return errorEnvelope(409, 'Conflict', 'The broadcast is live: end the stream first.');
        current = { ...current, ...JSON.parse(init.body as string) };
        return json(200, { results: current });
      },
      (url) => (url === '/api/v1/users/me/broadcasts' ? json(200, { results: { past: [], current: [], future: [current] } }) : undefined),
    );
    renderDashboard();
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Publish Sunday slow jams' }));
    await screen.findByRole('button', { name: 'Hide Sunday slow jams' });
    expect(screen.getByText('Public')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Delete Sunday slow jams' }));
    await user.click(screen.getByRole('button', { name: 'Yes, delete it' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The broadcast is live: end the stream first.');
    expect(calls).toEqual(['PATCH {"isVisible":true}', 'DELETE ']);
  });
});
