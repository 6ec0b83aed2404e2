// Small shared pieces: error box, form field, chips, kind badge, stars.
import { useId } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage } from '../api.js';
import { useI18n } from '../i18n.jsx';

export function ErrorBox({ error, onRetry }) {
  const { t } = useI18n();
  if (!error) return null;
  const text = typeof error === 'string' ? error : errorMessage(error, t);
  return (
    <div className="alert alert-error" role="alert">
      <span>{text}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

export function Notice({ children }) {
  return (
    <div className="alert alert-ok" role="status">
      {children}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="muted" role="status">
      {t('list.loading')}
    </p>
  );
}

/** A labelled form control with an optional hint and error; `children(id, describedBy)`. */
export function Field({ label, hint, error, children, counter }) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const describedBy = [hint && hintId, error && errId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field has-error' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children(id, describedBy, Boolean(error))}
      <div className="field-foot">
        {hint && (
          <small id={hintId} className="hint">
            {hint}
          </small>
        )}
        {counter && <small className="counter">{counter}</small>}
      </div>
      {error && (
        <small id={errId} className="field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

export function KindBadge({ kind }) {
  const { t } = useI18n();
  return <span className={`badge badge-${kind}`}>{t(`kind.${kind}`)}</span>;
}

export function Chips({ terms, label }) {
  if (!terms || terms.length === 0) return null;
  return (
    <ul className="chips" aria-label={label}>
      {terms.map((term) => (
        <li key={term.term} className="chip" title={term.weight != null ? `${term.weight}` : undefined}>
          {term.term}
        </li>
      ))}
    </ul>
  );
}

export function ScoreBar({ score, label }) {
  const pct = Math.max(0, Math.min(100, Math.round((score || 0) * 100)));
  return (
    <div className="score" title={`${label}: ${pct}%`}>
      <span className="score-label">
        {label}: <strong>{pct}%</strong>
      </span>
      <span className="score-track" aria-hidden="true">
        <span className="score-fill" style={{ width: `${pct}%` }} />
      </span>
    </div>
  );
}

/** 1-5 stars as a radio group. */
export function StarInput({ value, onChange, name, legend }) {
  const { t } = useI18n();
  return (
    <fieldset className="stars">
      <legend>{legend}</legend>
      {[1, 2, 3, 4, 5].map((n) => (
        <label key={n} className={n <= value ? 'star on' : 'star'} title={t('ex.stars', { n })}>
          <input
            type="radio"
            name={name}
            value={n}
            checked={value === n}
            onChange={() => onChange(n)}
            aria-label={t('ex.stars', { n })}
          />
          <span aria-hidden="true">★</span>
        </label>
      ))}
    </fieldset>
  );
}

const ICONS = {
  pin: 'M12 21s-7-6.2-7-11.5A7 7 0 0 1 19 9.5C19 14.8 12 21 12 21z M12 12a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  truck: 'M3 6h11v9H3z M14 9h4l3 3v3h-7z M7 18a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z M17 18a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z',
};

/** A small line icon followed by text (no emoji: they need fonts not every system has). */
export function IconText({ icon, children }) {
  return (
    <span className="icon-text">
      <svg className="icon" viewBox="0 0 24 24" aria-hidden="true">
        <path d={ICONS[icon]} />
      </svg>
      {children}
    </span>
  );
}

/** "Propose an exchange" button, or the note that one was proposed (with its id). */
export function ProposeAction({ proposedId, busy, onPropose }) {
  const { t } = useI18n();
  return (
    <div className="match-actions">
      {proposedId ? (
        <Notice>
          {t('matches.proposed', { id: proposedId })} <Link to="/exchanges">{t('matches.seeExchanges')}</Link>
        </Notice>
      ) : (
        <button type="button" className="btn btn-primary" disabled={busy} onClick={onPropose}>
          {t('matches.propose')}
        </button>
      )}
    </div>
  );
}
