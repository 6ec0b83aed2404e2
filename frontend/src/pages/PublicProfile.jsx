import { useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ReportButton } from '../components/ReportForm.jsx';
import { ErrorBox, Loading, Notice } from '../components/ui.jsx';
import { formatDate } from '../data.js';
import { useI18n } from '../i18n.jsx';

function Stars({ score }) {
  const { t } = useI18n();
  return (
    <span className="stars-view" role="img" aria-label={t('ex.stars', { n: score })}>
      {'★'.repeat(score)}
      <span className="stars-off">{'★'.repeat(5 - score)}</span>
    </span>
  );
}

/** A person as everyone sees them: trust and why, revealed reviews, completed exchanges. */
export default function PublicProfile() {
  const { id } = useParams();
  const { t, lang, number } = useI18n();
  const { me } = useAuth();
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let alive = true;
    setPage(null);
    setError(null);
    api
      .get(`/users/${encodeURIComponent(id)}/profile`)
      .then((res) => alive && setPage(res.data))
      .catch((err) => alive && setError(err));
    return () => {
      alive = false;
    };
  }, [id]);

  if (error) return <ErrorBox error={error} />;
  if (!page) return <Loading />;
  const name = page.display_name || `@${page.username}`;
  const trust = page.trust;
  const fmt = (v) => number(v, { maximumFractionDigits: 1, minimumFractionDigits: 1 });

  return (
    <section className="narrow public-profile" data-user-id={page.id}>
      <div className="card profile-head">
        <div className="avatar" aria-hidden="true">
          {name.replace('@', '').slice(0, 1).toUpperCase()}
        </div>
        <div>
          <h1>{name}</h1>
          <div className="muted small">
            @{page.username}
            {page.city ? ` · ${page.city}` : ''} · {t('people.memberSince', { date: formatDate(page.member_since, lang, true) })}
          </div>
          <div className="strong" data-testid="completed-exchanges">
            {t('people.exchanges', { n: page.completed_exchanges })}
          </div>
        </div>
      </div>
      {page.about && (
        <section className="card">
          <h2>{t('people.about')}</h2>
          <p className="description">{page.about}</p>
        </section>
      )}
      <section className="card trust" aria-labelledby="trust-title">
        <h2 id="trust-title">{t('people.trust')}</h2>
        {trust.score == null ? (
          <p>{t('people.noTrust')}</p>
        ) : (
          <>
            <p className="trust-score" data-testid="trust-score">
              {t('profile.trustValue', { score: fmt(trust.score) })}
            </p>
            <p className="muted small">
              {t('people.trustExplain', {
                counted: trust.counted,
                mean: fmt(trust.mean_of_counted),
                prior: fmt(trust.prior_mean),
                weight: trust.prior_weight,
                days: trust.window_days,
                ignored: trust.ignored,
              })}
            </p>
          </>
        )}
      </section>
      <section className="card" aria-labelledby="reviews-title">
        <h2 id="reviews-title">{t('people.reviews')}</h2>
        {page.reviews.length === 0 && <p className="muted">{t('people.noReviews')}</p>}
        <ul className="reviews" data-testid="reviews">
          {page.reviews.map((r) => (
            <li key={r.id} className="review">
              <Stars score={r.score} /> {r.comment && <q>{r.comment}</q>}
              <div className="muted small">
                {t('people.reviewBy', { name: r.reviewer.display_name || `@${r.reviewer.username}` })} ·{' '}
                {formatDate(r.created_at, lang)}
              </div>
            </li>
          ))}
        </ul>
      </section>
      {me && me.id !== page.id && (
        <ReportButton target={{ user_id: page.id }} title={t('report.titleUser')} />
      )}
    </section>
  );
}
