import ErrorAlert from './ErrorAlert';

/** The form-wide part of a failure: the message naming no field, or a pointer to the fields' own. */
export default function FormAlert({ errors }: { errors: Record<string, string> }) {
  const fieldCount = Object.keys(errors).filter((k) => k !== '').length;
  const message =
    errors[''] ?? (fieldCount ? 'Please correct the marked field' + (fieldCount > 1 ? 's' : '') + ' below.' : null);
  return <ErrorAlert message={message} />;
}
