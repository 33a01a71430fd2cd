import { useState, type FormEvent } from 'react';
import { fromLocalInput, toLocalInput } from '../format';
import { useFormErrors, usePreview } from '../hooks';
import type { Broadcast, BroadcastChanges } from '../types';
import Artwork from './Artwork';
import Field from './Field';
import FormAlert from './FormAlert';

export const BROADCAST_FIELDS = ['title', 'description', 'startAt', 'endAt', 'artwork'] as const;
const MAX_ARTWORK_BYTES = 10 * 1024 * 1024;
const HOUR_MS = 3_600_000;

export interface BroadcastFormValues {
  /** For a new broadcast every field; for an edit only the changed ones. */
  fields: BroadcastChanges & { title?: string; startAt?: string; endAt?: string };
  artwork: File | null;
}

/**
 * Scheduling and editing. The browser checks nothing the server would not:
 * the server's 400 is split by field and shown under each one.
 */
export default function BroadcastForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: Broadcast;
  submitLabel: string;
  onSubmit: (values: BroadcastFormValues) => Promise<void>;
  onCancel?: () => void;
}) {
  const [now] = useState(() => new Date());
  const startInit = initial ? toLocalInput(new Date(initial.startAt)) : toLocalInput(now);
  const endInit = initial ? toLocalInput(new Date(initial.endAt)) : toLocalInput(new Date(now.getTime() + HOUR_MS));
  const [title, setTitle] = useState(initial?.title ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [start, setStart] = useState(startInit);
  const [end, setEnd] = useState(endInit);
  const [artwork, setArtwork] = useState<File | null>(null);
  const preview = usePreview(artwork);
  const { errors, clear, formRef, busy, submit: run } = useFormErrors(BROADCAST_FIELDS);
  const artworkTooLarge = !!artwork && artwork.size > MAX_ARTWORK_BYTES;

  async function submit(e: FormEvent) {
    e.preventDefault();
    clear();
    const fields: BroadcastFormValues['fields'] = {};
    if (!initial || title !== initial.title) fields.title = title.trim();
    if (!initial || description !== (initial.description ?? '')) fields.description = description;
    if (!initial || start !== startInit) fields.startAt = fromLocalInput(start);
    if (!initial || end !== endInit) fields.endAt = fromLocalInput(end);
    const ok = await run(() => onSubmit({ fields, artwork }));
    if (ok && !initial) {
      setTitle('');
      setDescription('');
      setArtwork(null);
    }
  }

  return (
    <form onSubmit={submit} noValidate ref={formRef} className="broadcast-form">
      <Field
        label="Title"
        hint="5 to 70 characters."
        value={title}
        onValueChange={setTitle}
        error={errors.title}
        autoComplete="off"
      />
      <Field
        label="Description (optional)"
        hint="Up to 800 characters."
        multiline
        rows={3}
        value={description}
        onValueChange={setDescription}
        error={errors.description}
      />
      <div className="two-cols">
        <Field label="Starts" type="datetime-local" value={start} onValueChange={setStart} error={errors.startAt} />
        <Field
          label="Ends"
          type="datetime-local"
          hint="At most 12 hours after the start."
          value={end}
          onValueChange={setEnd}
          error={errors.endAt}
        />
      </div>
      <div className="field">
        <label htmlFor={initial ? `artwork-${String(initial.broadcastId)}` : 'artwork-new'}>Artwork (optional)</label>
        <div className="artwork-pick">
          {preview ? (
            <img className="artwork artwork-md" src={preview} alt="Preview of the chosen artwork" />
          ) : initial ? (
            <Artwork broadcast={initial} />
          ) : null}
          <input
            id={initial ? `artwork-${String(initial.broadcastId)}` : 'artwork-new'}
            type="file"
            accept="image/jpeg,image/png,image/webp"
            aria-invalid={errors.artwork || artworkTooLarge ? true : undefined}
            onChange={(e) => setArtwork(e.target.files?.[0] ?? null)}
          />
        </div>
        <small className="hint">JPEG, PNG or WebP, at most 10 MB.</small>
        {(errors.artwork || artworkTooLarge) && (
          <small className="field-error">{errors.artwork ?? 'That file is larger than 10 MB.'}</small>
        )}
      </div>
      <FormAlert errors={errors} />
      <p className="actions">
        <button type="submit" disabled={busy || artworkTooLarge}>
          {busy ? 'Saving…' : submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </p>
    </form>
  );
}
