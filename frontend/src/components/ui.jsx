// Small shared pieces: error box, form field, chips, kind badge, stars.
import { useId, useState } from 'react';
import { api } from '../api.js';
import { Link } from 'react-router-dom';
import { useI18n } from '../i18n.jsx';

export function ErrorBox({ error, onRetry }) {
  const { t, error: describe } = useI18n();
  if (!error) return null;
  const text = typeof error === 'string' ? error : describe(error);
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

/** A form's primary submit button: disabled and saying so while the form is being saved. */
export function SaveButton({ saving, label }) {
  const { t } = useI18n();
  return (
    <div className="form-actions">
      <button type="submit" className="btn btn-primary" disabled={saving}>
        {saving ? t('form.saving') : label}
      </button>
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

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * The word of `texts` a matching term stands for: terms are stems ("велосипед", "детск"), so a
 * chip shows the listing's own word ("детский") and never a stem cut mid-word.
 */
export function surfaceWord(term, texts) {
  const stem = String(term || '').toLowerCase();
  if (!stem) return '';
  for (const text of texts) {
    for (const word of String(text || '').match(WORD) || []) {
      if (word.toLowerCase().startsWith(stem)) return word.toLowerCase();
    }
  }
  return stem;
}

/**
 * What the chips of a match say, in the viewer's language: the server's display form where the
 * lexicon has one ("велосипед" reads "bicycle" in English), else the listing's own word; the
 * terms that name the thing itself (`object`) first, each word once.
 */
export function chipWords(terms, lang, texts = []) {
  const seen = new Map();
  const ordered = [...(terms || [])].sort((a, b) => Number(Boolean(b.object)) - Number(Boolean(a.object)));
  for (const term of ordered) {
    const word = term.display?.[lang] || surfaceWord(term.term, texts);
    if (word && !seen.has(word)) seen.set(word, Boolean(term.object));
  }
  return [...seen].map(([word, object]) => ({ word, object }));
}

export function Chips({ terms, label, texts = [] }) {
  const { lang } = useI18n();
  const words = chipWords(terms, lang, texts);
  if (words.length === 0) return null;
  return (
    <ul className="chips" aria-label={label}>
      {words.map(({ word, object }) => (
        <li key={word} className={object ? 'chip chip-object' : 'chip'}>
          {word}
        </li>
      ))}
    </ul>
  );
}

export function ScoreBar({ score, label }) {
  const { number } = useI18n();
  const share = Math.max(0, Math.min(1, score || 0));
  const pct = Math.round(share * 100);
  return (
    <div className="score">
      <span className="score-label">
        {label}: <strong>{number(share, { style: 'percent' })}</strong>
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

/** Thumbnail of an item's first photo, or nothing. */
export function Thumb({ item, className = 'thumb' }) {
  const { t } = useI18n();
  const photo = item?.photos?.[0];
  if (!photo) return null;
  return (
    <img
      className={className}
      src={photo.thumb_url}
      alt={t('item.photoAlt', { title: item.title, n: 1, total: item.photos.length })}
      width={photo.width >= photo.height ? 400 : Math.round((400 * photo.width) / photo.height)}
      height={photo.height >= photo.width ? 400 : Math.round((400 * photo.height) / photo.width)}
      loading="lazy"
    />
  );
}

/** A person's name linking to their public profile page. */
export function PersonLink({ user, fallbackId, meId }) {
  const { t } = useI18n();
  const id = user?.id ?? fallbackId;
  if (user === undefined) return <span className="who">…</span>;
  const name = user ? (meId && user.id === meId ? t('common.you') : user.display_name || `@${user.username}`) : t('common.user', { id });
  return (
    <Link className={meId && id === meId ? 'who me' : 'who'} to={`/users/${id}`}>
      {name}
    </Link>
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

/** Propose an exchange from these matches: the button, then the note with the new exchange. */
export function ProposeButton({ matchIds }) {
  const [busy, setBusy] = useState(false);
  const [proposed, setProposed] = useState(null);
  const [error, setError] = useState(null);
  const propose = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await api.post('/exchanges/', { match_ids: matchIds });
      setProposed(res.data.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <ErrorBox error={error} />
      <ProposeAction proposedId={proposed} busy={busy} onPropose={propose} />
    </>
  );
}
