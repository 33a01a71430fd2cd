import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, on, stubFetch } from '../test/http';
import StreamKeyPanel, { sourceRecipes } from './StreamKeyPanel';

describe('StreamKeyPanel', () => {
  it('shows the key once after rotating, copies it, and fills the tools’ settings with it', async () => {
    stubFetch(
      on('GET', '/api/v1/users/me/stream-key', () => json(200, { results: { streamKey: null, createdAt: '2030-01-01T10:00:00.000Z' } })),
      on('POST', '/api/v1/users/me/stream-key', () => json(200, { results: { streamKey: 'sk_secret_123456', createdAt: '2030-01-02T10:00:00.000Z' } })),
    );
    render(<StreamKeyPanel username="dj_mix" />);
    expect(await screen.findByText(/cannot be shown again/)).toBeTruthy();
    expect(screen.getAllByText(/YOUR_STREAM_KEY/).length).toBeGreaterThan(0);

    const user = userEvent.setup();
    // After userEvent.setup(), which puts a clipboard stub of its own in place.
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText } });
    await user.click(screen.getByRole('button', { name: 'Rotate key' }));
    await user.click(screen.getByRole('button', { name: 'Yes, rotate' }));
    const input = (await screen.findByLabelText('Your new stream key (shown only now)')) as HTMLInputElement;
    expect(input.value).toBe('sk_secret_123456');
    await user.click(screen.getByRole('button', { name: 'Copy key' }));
    expect(writeText).toHaveBeenCalledWith('sk_secret_123456');
    expect(screen.getAllByText('Copied.').length).toBe(1);

    const ffmpeg = screen.getByRole('heading', { name: 'ffmpeg' }).nextElementSibling as HTMLElement;
    expect(within(ffmpeg).getByText(/icecast:\/\/source:sk_secret_123456@localhost:8000\/live\/dj_mix/)).toBeTruthy();
    expect(screen.queryByText(/YOUR_STREAM_KEY/)).toBeNull();
  });

  it('offers to create a key when there is none', async () => {
    stubFetch(on('GET', '/api/v1/users/me/stream-key', () => json(200, { results: { streamKey: null, createdAt: null } })));
    render(<StreamKeyPanel username="dj_mix" />);
    expect(await screen.findByRole('button', { name: 'Create a stream key' })).toBeTruthy();
    expect(screen.getByText('You have no stream key yet.')).toBeTruthy();
  });
});

describe('sourceRecipes', () => {
  it('gives ffmpeg, BUTT, Mixxx and the CLI', () => {
    const r = sourceRecipes({ host: 'live.example', port: '8000', mount: '/live/dj', user: 'source', password: 'k', origin: 'https://live.example' });
    expect(r.map((x) => x.name.split(' ')[0])).toEqual(['ffmpeg', 'BUTT', 'Mixxx', 'LiveStreamer']);
    expect(r[1].text).toContain('Icecast mountpoint: /live/dj');
    expect(r[2].text).toContain('Password: k');
    expect(r[3].text).toContain('livestreamer-source --server https://live.example login');
  });
});
