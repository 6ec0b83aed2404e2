import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import Leg from '../components/Leg.jsx';
import { ErrorBox, Field, Loading, Notice, PersonLink, StarInput } from '../components/ui.jsx';
import { forgetCaches, formatDate, getItem, getUser, namers, useAction, useFetched, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';
import { LIMITS, validateRating } from '../validation.js';

function RatingForm({ exchange, user, name, onDone }) {
  const { t, te, fieldErrors } = useI18n();
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
  const [version, setVersion] = useState(0);
  // Contacts appear once an exchange is accepted: never show a stale copy.
  const refresh = () => {
    forgetCaches();
    setVersion((v) => v + 1);
  };
  const { data: list, setData: setList, error, setError, load } = useFetched('/exchanges', refresh);
  const [busy, run] = useAction(setError);

  const all = list || [];
  const people = useMany(all.flatMap((x) => x.parties.map((p) => p.user_id)), getUser, version);
  const items = useMany(all.flatMap((x) => x.legs.map((l) => l.item_id)), getItem, version);
  const { who, itemTitle } = namers(people, items, t, me.id);

  const act = async (exchange, action) => {
    if (action === 'cancel' && !window.confirm(t('ex.confirmCancel', { id: exchange.id }))) return;
    if (action === 'decline' && !window.confirm(t('ex.confirmDecline', { id: exchange.id }))) return;
    await run(`${exchange.id}:${action}`, async () => {
      const res = await api.post(`/exchanges/${exchange.id}/${action}`);
      setList((old) => old.map((x) => (x.id === exchange.id ? res.data : x)));
      if (action === 'accept' || action === 'complete') refresh();
    });
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
          // The server says which buttons this person may press now (the bot shows the same).
          const actions = x.actions || [];
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
                    <Leg
                      giverId={leg.from_user_id}
                      receiverId={leg.to_user_id}
                      itemId={leg.item_id}
                      title={leg.item_title || itemTitle(leg.item_id)}
                      name={who}
                      meId={me.id}
                    />
                  </li>
                ))}
              </ol>
              <div className="parties">
                <span className="muted small">{t('ex.parties')}:</span>
                {x.parties.map((p) => (
                  <span key={p.user_id} className="party">
                    <PersonLink user={people[p.user_id]} fallbackId={p.user_id} meId={me.id} /> —{' '}
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
                  people[p.user_id]?.contact || people[p.user_id]?.message_url ? (
                    <p key={p.user_id} className="contact">
                      {t('ex.contact')} {who(p.user_id)}: <strong>{people[p.user_id].contact}</strong>
                      {people[p.user_id].message_url && (
                        <>
                          {' '}
                          <a className="btn btn-small" href={people[p.user_id].message_url} target="_blank" rel="noopener noreferrer">
                            {t('ex.message')}
                          </a>
                        </>
                      )}
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
                  return x.rated_user_ids?.includes(p.user_id) ? (
                    <Notice key={k}>{t('ex.rated')}</Notice>
                  ) : (
                    <RatingForm
                      key={k}
                      exchange={x}
                      user={p.user_id}
                      name={who(p.user_id)}
                      onDone={() =>
                        // The server remembers who was rated: every device shows the same.
                        setList((old) =>
                          old.map((e) =>
                            e.id === x.id ? { ...e, rated_user_ids: [...(e.rated_user_ids || []), p.user_id] } : e,
                          ),
                        )
                      }
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
