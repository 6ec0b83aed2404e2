import { useState } from 'react';
import { api } from '../api.js';
import { useI18n } from '../i18n.jsx';
import { ErrorBox, Field, Notice } from './ui.jsx';

export const REPORT_REASONS = ['spam', 'prohibited', 'fraud', 'offensive', 'other'];

/** Report a listing or a person to the moderators: a reason, optional details. */
export default function ReportForm({ target, title, onDone, onCancel }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const [details, setDetails] = useState('');
  const [error, setError] = useState(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    if (!reason) {
      setMissing(true);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // Moderators read reports in the CLI: the reason's code, then the person's own words.
      const text = details.trim() ? `${reason}: ${details.trim()}` : reason;
      await api.post('/reports/', { ...target, reason: text.slice(0, 1000) });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form report-form" onSubmit={submit} noValidate>
      <fieldset className={missing ? 'field has-error' : 'field'}>
        <legend>{title}</legend>
        <p className="muted small">{t('report.reason')}</p>
        {REPORT_REASONS.map((r) => (
          <label key={r} className="check">
            <input
              type="radio"
              name="report-reason"
              value={r}
              checked={reason === r}
              onChange={() => {
                setReason(r);
                setMissing(false);
              }}
            />
            {t(`report.reason.${r}`)}
          </label>
        ))}
        {missing && (
          <small className="field-error" role="alert">
            {t('v.required')}
          </small>
        )}
      </fieldset>
      <Field label={t('report.details')}>
        {(id, desc) => (
          <textarea id={id} rows={2} maxLength={900} value={details} onChange={(e) => setDetails(e.target.value)} aria-describedby={desc} />
        )}
      </Field>
      <ErrorBox error={error} />
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('report.cancel')}
        </button>
        <button type="submit" className="btn btn-danger" disabled={busy}>
          {t('report.send')}
        </button>
      </div>
    </form>
  );
}

/** The "report" link that opens the form, then thanks the person. */
export function ReportButton({ target, title }) {
  const { t } = useI18n();
  const [state, setState] = useState('closed');
  return (
    <div className="report-area">
      {state === 'sent' && <Notice>{t('report.sent')}</Notice>}
      {state === 'open' && (
        <ReportForm target={target} title={title} onDone={() => setState('sent')} onCancel={() => setState('closed')} />
      )}
      {state === 'closed' && (
        <button type="button" className="btn-link" onClick={() => setState('open')}>
          {t('report.button')}
        </button>
      )}
    </div>
  );
}
