import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { deleteMe, deleteProfilePicture, setProfilePicture, updateMe } from '../api';
import ErrorAlert from '../components/ErrorAlert';
import Field from '../components/Field';
import FormAlert from '../components/FormAlert';
import StreamKeyPanel from '../components/StreamKeyPanel';
import { useAction, useFormErrors, usePreview } from '../hooks';
import { useSession } from '../session';
import type { ProfileChanges, User } from '../types';

const PROFILE_FIELDS = ['username', 'displayName', 'about', 'websiteUrl'] as const;
const MAX_PICTURE_BYTES = 3 * 1024 * 1024;

function ProfileForm({ user, onSaved }: { user: User; onSaved: (u: User) => void }) {
  const [form, setForm] = useState({
    username: user.username,
    displayName: user.displayName ?? '',
    about: user.about ?? '',
    websiteUrl: user.websiteUrl ?? '',
  });
  const [saved, setSaved] = useState(false);
  const { errors, clear, formRef, busy, submit } = useFormErrors(PROFILE_FIELDS);
  const set = (k: keyof typeof form) => (v: string) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: v }));
  };

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const changes: ProfileChanges = {};
    for (const k of PROFILE_FIELDS) {
      const before = k === 'username' ? user.username : (user[k] ?? '');
      if (form[k] !== before) changes[k] = k === 'username' ? form[k].trim() : form[k];
    }
    clear();
    if (Object.keys(changes).length === 0) {
      setSaved(true);
      return;
    }
    setSaved(await submit(async () => onSaved(await updateMe(changes))));
  }

  return (
    <section className="card" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <form onSubmit={onSubmit} noValidate ref={formRef}>
        <Field
          label="Username"
          hint="3 to 16 characters: letters, digits, dot, underscore or hyphen."
          value={form.username}
          onValueChange={set('username')}
          error={errors.username}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
        />
        <Field label="Display name" value={form.displayName} onValueChange={set('displayName')} error={errors.displayName} />
        <Field label="About you" multiline rows={4} value={form.about} onValueChange={set('about')} error={errors.about} />
        <Field
          label="Website"
          type="url"
          placeholder="https://…"
          value={form.websiteUrl}
          onValueChange={set('websiteUrl')}
          error={errors.websiteUrl}
        />
        <FormAlert errors={errors} />
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save profile'}
        </button>{' '}
        <span role="status" className="muted">
          {saved ? 'Saved.' : ''}
        </span>
      </form>
    </section>
  );
}

function PictureForm({ user, onSaved }: { user: User; onSaved: (u: User) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const preview = usePreview(file);
  const action = useAction();
  const { busy, error } = action;
  const tooLarge = !!file && file.size > MAX_PICTURE_BYTES;
  const run = (fn: () => Promise<User>) =>
    action.run(async () => {
      onSaved(await fn());
      setFile(null);
    });

  return (
    <section className="card" aria-labelledby="picture-title">
      <h2 id="picture-title">Picture</h2>
      <div className="picture-row">
        <img
          className="avatar-lg"
          src={preview ?? user.profilePictureUrl ?? ''}
          alt={preview ? 'Preview of the new picture' : 'Your current picture'}
        />
        <div>
          <label htmlFor="picture-file">Choose a picture</label>
          <input
            id="picture-file"
            type="file"
            accept="image/jpeg,image/png,image/webp"
            aria-describedby="picture-hint"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
          <small id="picture-hint" className="hint">
            JPEG, PNG or WebP, at most 3 MB.
          </small>
          {tooLarge && <p className="field-error">That file is larger than 3 MB.</p>}
          <ErrorAlert message={error} />
          <p className="actions">
            <button type="button" disabled={!file || tooLarge || busy} onClick={() => file && void run(() => setProfilePicture(file))}>
              {busy ? 'Saving…' : 'Upload picture'}
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => void run(deleteProfilePicture)}>
              Remove picture
            </button>
          </p>
        </div>
      </div>
    </section>
  );
}

function DeleteAccount({ user }: { user: User }) {
  const { setUser } = useSession();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const { busy, error, run } = useAction();

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (typed !== user.username) return;
    if (await run(deleteMe)) {
      setUser(null);
      navigate('/', { replace: true });
    }
  }

  return (
    <section className="card danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete your account</h2>
      <p className="muted">
        You can no longer sign in afterwards, every session is signed out, and your username and email stay reserved.
      </p>
      {!open ? (
        <button type="button" className="danger" onClick={() => setOpen(true)}>
          Delete my account…
        </button>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Field
            label={`Type your username (${user.username}) to confirm`}
            value={typed}
            onValueChange={setTyped}
            autoComplete="off"
            autoFocus
          />
          <ErrorAlert message={error} />
          <p className="actions">
            <button type="submit" className="danger" disabled={busy || typed !== user.username}>
              {busy ? 'Deleting…' : 'Delete my account for good'}
            </button>
            <button type="button" className="secondary" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </p>
        </form>
      )}
    </section>
  );
}

export default function SettingsPage() {
  const { user, setUser } = useSession();
  if (!user) return null;
  return (
    <>
      <h1>Account settings</h1>
      <p className="muted">
        Signed in as <strong>{user.username}</strong> ({user.email}).
      </p>
      <div className="settings-grid">
        <ProfileForm key={String(user.userId)} user={user} onSaved={setUser} />
        <PictureForm user={user} onSaved={setUser} />
      </div>
      <StreamKeyPanel username={user.username} />
      <DeleteAccount user={user} />
    </>
  );
}
