import { useId, type InputHTMLAttributes } from 'react';

type Props = {
  label: string;
  hint?: string;
  value: string;
  onValueChange: (v: string) => void;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'id'>;

/** A labelled text input with an optional hint tied to it by aria-describedby. */
export default function Field({ label, hint, value, onValueChange, ...rest }: Props) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onValueChange(e.target.value)}
        aria-describedby={hint ? hintId : undefined}
        {...rest}
      />
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}
