import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, errorText, fieldErrors } from './api';

/** The current time in ms, refreshed every `intervalMs` while mounted. */
export function useNow(intervalMs = 1000, enabled = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs, enabled]);
  return now;
}

/**
 * A cooldown: `start(seconds)` begins it; `remaining` counts whole seconds
 * down to 0 (0 = ready).
 */
export function useCooldown(): { remaining: number; start: (seconds: number) => void } {
  const [until, setUntil] = useState(0);
  const now = useNow(250, until > 0);
  const remaining = until > now ? Math.ceil((until - now) / 1000) : 0;
  useEffect(() => {
    if (until > 0 && remaining === 0) setUntil(0);
  }, [until, remaining]);
  const start = useCallback((seconds: number) => setUntil(Date.now() + seconds * 1000), []);
  return { remaining, start };
}

export interface FormErrors {
  /** Field name → its error; '' holds what names no field. */
  errors: Record<string, string>;
  /** Shows an API failure: a 400/409 split by field, anything else as one message. */
  fail: (err: unknown) => void;
  clear: () => void;
  /** Give it to the <form>: the first invalid field gets the focus after a failure. */
  formRef: React.RefObject<HTMLFormElement | null>;
  busy: boolean;
  /** Clears the errors and runs `fn` with busy set; a failure is shown by `fail`. Resolves true on success. */
  submit: (fn: () => Promise<unknown>) => Promise<boolean>;
}

export function useFormErrors(fields: readonly string[]): FormErrors {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const formRef = useRef<HTMLFormElement | null>(null);
  const fieldsRef = useRef(fields);
  fieldsRef.current = fields;
  const fail = useCallback((err: unknown) => {
    if (err instanceof ApiError && (err.status === 400 || err.status === 409)) {
      setErrors(fieldErrors(err.message, fieldsRef.current));
    } else {
      setErrors({ '': errorText(err) });
    }
  }, []);
  const clear = useCallback(() => setErrors({}), []);
  const [busy, setBusy] = useState(false);
  const submit = useCallback(
    async (fn: () => Promise<unknown>) => {
      setErrors({});
      setBusy(true);
      try {
        await fn();
        return true;
      } catch (err) {
        fail(err);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [fail],
  );
  useEffect(() => {
    const invalid = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    invalid?.focus();
  }, [errors]);
  return { errors, fail, clear, formRef, busy, submit };
}

/** A local preview URL of a chosen file, revoked when the file changes. */
export function usePreview(file: Blob | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file) {
      setUrl(null);
      return;
    }
    const u = URL.createObjectURL(file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [file]);
  return url;
}

export interface Action {
  busy: boolean;
  error: string | null;
  setError: (message: string | null) => void;
  /** Runs `fn` with busy set; a failure becomes `error` in words. Resolves true on success. */
  run: (fn: () => Promise<unknown> | undefined) => Promise<boolean>;
}

/** The busy flag and the error of a button's or form's API call. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (fn: () => Promise<unknown> | undefined) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

export interface Paged<T> {
  /** null until the first page arrived. */
  items: T[] | null;
  /** The cursor of the next page, null on the last one. */
  cursor: string | null;
  busy: boolean;
  error: string | null;
  /** Loads the first page (null) or the one after `cursor`, appending it. */
  load: (cursor: string | null) => Promise<void>;
}

/** A cursor-paginated list: `fetchPage` answers one page's items and the next cursor. */
export function usePaged<T>(fetchPage: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Paged<T> {
  const [items, setItems] = useState<T[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const load = useCallback(
    async (next: string | null) => {
      await run(async () => {
        const page = await fetchPage(next);
        setItems((cur) => (next && cur ? [...cur, ...page.items] : page.items));
        setCursor(page.nextCursor);
      });
    },
    [fetchPage, run],
  );
  useEffect(() => {
    void load(null);
  }, [load]);
  return { items, cursor, busy, error, load };
}
