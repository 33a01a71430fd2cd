import { useId, type InputHTMLAttributes, type TextareaHTMLAttributes } from 'react';

type Common = {
  label: string;
  hint?: string;
  /** An error for this field (from the API's 400), shown under it and tied to it for screen readers. */
  error?: string | null;
  value: string;
  onValueChange: (v: string) => void;
};

type InputProps = Common & { multiline?: false } & Omit<
    InputHTMLAttributes<HTMLInputElement>,
    'value' | 'onChange' | 'id'
  >;
type AreaProps = Common & { multiline: true } & Omit<
    TextareaHTMLAttributes<HTMLTextAreaElement>,
    'value' | 'onChange' | 'id'
  >;

/** A labelled text input (or textarea) with an optional hint and error tied to it by aria-describedby. */
export default function Field(props: InputProps | AreaProps) {
  const id = useId();
  const { label, hint, error, value, onValueChange, multiline, ...rest } = props;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  const shared = {
    id,
    value,
    'aria-describedby': describedBy,
    'aria-invalid': error ? true : undefined,
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea
          {...shared}
          onChange={(e) => onValueChange(e.target.value)}
          {...(rest as TextareaHTMLAttributes<HTMLTextAreaElement>)}
        />
      ) : (
        <input
          {...shared}
          onChange={(e) => onValueChange(e.target.value)}
          {...(rest as InputHTMLAttributes<HTMLInputElement>)}
        />
      )}
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={errorId} className="field-error">
          {error}
        </small>
      )}
    </div>
  );
}
