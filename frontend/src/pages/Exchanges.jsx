import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, errorMessage, fieldErrors } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox, Field, Loading, Notice, StarInput } from '../components/ui.jsx';
import { displayName, forgetCaches, formatDate, getItem, getUser, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';
import { LIMITS, validateRating } from '../validation.js';

const RATED_KEY = 'fm_rated';

function ratedSet() {
  try {
    return new Set(JSON.parse(window.localStorage.getItem(RATED_KEY) || '[]'));
  } catch {
    return new Set();
  }
}

function markRated(key) {
  const s = ratedSet();
  s.add(key);
  try {
    window.localStorage.setItem(RATED_KEY, JSON.stringify([...s].slice(-500)));
  } catch {
    /* storage disabled */
  }
}

/** Which buttons a party may press, mirroring the server's transitions. */
export function allowedActions(exchange, meId) {
  const party = exchange.parties.find((p) => p.user_id === meId);
  if (!party) return [];
  if (exchange.status === 'proposed') {
    return party.accepted_at ? ['cancel'] : ['accept', 'decline', 'cancel'];
  }
  if (exchange.status === 'accepted') {
    return party.completed_at ? ['cancel'] : ['complete', 'cancel'];
  }
  return [];
}

function RatingForm({ exchange, user, name, onDone }) {
  const { t, te } = useI18n();
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState('');
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    const found = validateRating({ score, comment });
    setErrors(found);
    if (Object.keys(found).length) return;
    setSaving(true);
    setError(null);
    try {
      await api.post('/ratings/', {
        to_user_id: user,
        tx_id: exchange.id,
        score,
        comment: comment.trim() || null,
      });
      onDone();
    } catch (err) {
      const fe = fieldErrors(err);
      if (fe.score || fe.comment) setErrors(fe);
      else if (err?.response?.status === 409) onDone(); // already rated: nothing more to do
      else setError(err);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="rating-form" onSubmit={submit} noValidate>
      <StarInput value={score} onChange={setScore} name={`stars-${exchange.id}-${user}`} legend={t('ex.rate', { name })} />
      {errors.score && <small className="field-error">{te(errors.score)}</small>}
      <Field label={t('ex.comment')} error={te(errors.comment)} counter={t('form.chars', { n: comment.length, max: LIMITS.commentMax })}>
        {(id, desc, bad) => (
          <textarea id={id} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} aria-describedby={desc} aria-invalid={bad} />
        )}
      </Field>
      <ErrorBox error={error} />
      <button type="submit" className="btn btn-primary" disabled={saving}>
        {t('ex.sendRating')}
      </button>
    </form>
  );
}

export default function Exchanges() {
  const { t, lang } = useI18n();
  const { me } = useAuth();
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(null);
  const [rated, setRated] = useState(ratedSet);
  const [version, setVersion] = useState(0);

  const load = useCallback(async () => {
    setError(null);
    try {
      const res = await api.get('/exchanges');
      // Contacts appear once an exchange is accepted: never show a stale copy.
      forgetCaches();
      setList(res.data);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
  }, []);

  useEffect(() => {
    load();
  }, [load]);

  const all = list || [];
  const people = useMany(all.flatMap((x) => x.parties.map((p) => p.user_id)), getUser, version);
  const items = useMany(all.flatMap((x) => x.legs.map((l) => l.item_id)), getItem, version);
  // undefined: still loading; null: gone or hidden.
  const who = (id) =>
    people[id] === undefined ? '…' : displayName(people[id], t, me.id) || t('common.user', { id });
  const itemTitle = (id) =>
    items[id] === undefined ? '…' : items[id]?.title || t('common.item', { id });

  const act = async (exchange, action) => {
    if (action === 'cancel' && !window.confirm(t('ex.confirmCancel', { id: exchange.id }))) return;
    if (action === 'decline' && !window.confirm(t('ex.confirmDecline', { id: exchange.id }))) return;
    setBusy(`${exchange.id}:${action}`);
    setError(null);
    try {
      const res = await api.post(`/exchanges/${exchange.id}/${action}`);
      setList((old) => old.map((x) => (x.id === exchange.id ? res.data : x)));
      if (action === 'accept' || action === 'complete') {
        forgetCaches();
        setVersion((v) => v + 1);
      }
    } catch (err) {
      setError(errorMessage(err, t));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section>
      <h1>{t('ex.title')}</h1>
      <ErrorBox error={error} onRetry={load} />
      {list === null && !error && <Loading />}
      {list && list.length === 0 && (
        <p className="empty">
          {t('ex.empty')} <Link to="/matches">{t('nav.matches')}</Link>
        </p>
      )}
      <ul className="stack" data-testid="exchange-list">
        {all.map((x) => {
          const actions = allowedActions(x, me.id);
          const others = x.parties.filter((p) => p.user_id !== me.id);
          return (
            <li key={x.id} className="card exchange" data-exchange-id={x.id} data-status={x.status}>
              <div className="card-top">
                <strong>{t('ex.number', { id: x.id })}</strong>
                <span className="muted small">{t(`ex.kind.${x.kind}`)}</span>
                <span className={`status status-${x.status}`}>{t(`ex.status.${x.status}`)}</span>
                <span className="muted small push">{formatDate(x.created_at, lang)}</span>
              </div>
              <h2 className="sr-only">{t('ex.legs')}</h2>
              <ol className="legs">
                {x.legs.map((leg) => (
                  <li key={leg.item_id}>
                    <span className={leg.from_user_id === me.id ? 'who me' : 'who'}>{who(leg.from_user_id)}</span>{' '}
                    {t('trades.gives')}{' '}
                    <Link to={`/items/${leg.item_id}`}>
                      «{itemTitle(leg.item_id)}»
                    </Link>{' '}
                    {t('trades.to')} <span className={leg.to_user_id === me.id ? 'who me' : 'who'}>{who(leg.to_user_id)}</span>
                  </li>
                ))}
              </ol>
              <div className="parties">
                <span className="muted small">{t('ex.parties')}:</span>
                {x.parties.map((p) => (
                  <span key={p.user_id} className="party">
                    {who(p.user_id)} —{' '}
                    {p.completed_at
                      ? t('ex.completedMark')
                      : p.accepted_at
                        ? t('ex.acceptedMark')
                        : t('ex.waiting')}
                  </span>
                ))}
              </div>
              {x.status === 'proposed' && x.expires_at && (
                <p className="muted small">{t('ex.expires', { date: formatDate(x.expires_at, lang) })}</p>
              )}
              {(x.status === 'accepted' || x.status === 'completed') &&
                others.map((p) =>
                  people[p.user_id]?.contact ? (
                    <p key={p.user_id} className="contact">
                      {t('ex.contact')} {who(p.user_id)}: <strong>{people[p.user_id].contact}</strong>
                    </p>
                  ) : null,
                )}
              {actions.length > 0 && (
                <div className="card-actions">
                  {actions.map((a) => (
                    <button
                      key={a}
                      type="button"
                      className={a === 'accept' || a === 'complete' ? 'btn btn-primary' : a === 'decline' || a === 'cancel' ? 'btn btn-danger' : 'btn'}
                      disabled={busy !== null}
                      onClick={() => act(x, a)}
                    >
                      {t(`ex.${a}`)}
                    </button>
                  ))}
                </div>
              )}
              {x.status === 'completed' &&
                others.map((p) => {
                  const k = `${x.id}:${p.user_id}`;
                  return rated.has(k) ? (
                    <Notice key={k}>{t('ex.rated')}</Notice>
                  ) : (
                    <RatingForm
                      key={k}
                      exchange={x}
                      user={p.user_id}
                      name={who(p.user_id)}
                      onDone={() => {
                        markRated(k);
                        setRated(ratedSet());
                      }}
                    />
                  );
                })}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
