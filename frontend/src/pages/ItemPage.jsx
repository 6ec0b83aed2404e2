import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox, KindBadge, Loading } from '../components/ui.jsx';
import { categoryName, displayName, formatDate, getUser, noteTitles, useCategories } from '../data.js';
import { useI18n } from '../i18n.jsx';

export default function ItemPage() {
  const { id } = useParams();
  const { t, lang } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const [item, setItem] = useState(null);
  const [owner, setOwner] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let alive = true;
    setItem(null);
    setError(null);
    api
      .get(`/items/${encodeURIComponent(id)}`)
      .then(async (res) => {
        if (!alive) return;
        setItem(res.data);
        noteTitles([res.data]);
        const u = await getUser(res.data.user_id).catch(() => null);
        if (alive) setOwner(u);
      })
      .catch((err) => alive && setError(err));
    return () => {
      alive = false;
    };
  }, [id]);

  if (error) return <ErrorBox error={error} />;
  if (!item) return <Loading />;
  const mine = me && me.id === item.user_id;
  return (
    <article className="card item-page">
      <p>
        <Link to="/">{t('item.back')}</Link>
      </p>
      <div className="card-top">
        <KindBadge kind={item.kind} />
        <span className="muted">{categoryName(categories, item.category, lang)}</span>
        {!item.active && <span className="badge badge-muted">{t('item.inactive')}</span>}
      </div>
      <h1>{item.title}</h1>
      <p className="description">{item.description || <span className="muted">{t('item.noDescription')}</span>}</p>
      <dl className="facts">
        {item.city && (
          <>
            <dt>{t('item.city')}</dt>
            <dd>{item.city}</dd>
          </>
        )}
        <dt>{t('item.delivery')}</dt>
        <dd>{item.delivery ? '✓' : '—'}</dd>
        <dt>{t('item.posted')}</dt>
        <dd>{formatDate(item.created_at, lang)}</dd>
        {owner && (
          <>
            <dt>{t('item.owner')}</dt>
            <dd>
              {displayName(owner, t, me?.id)}{' '}
              <span className="muted small">
                {owner.trust_score != null
                  ? t('item.trust', { score: owner.trust_score.toFixed(1), n: owner.rating_count })
                  : t('item.noTrust')}
              </span>
            </dd>
          </>
        )}
      </dl>
      {mine && (
        <div className="card-actions">
          <span className="muted">{t('item.yours')}</span>
          {item.active && (
            <Link className="btn" to={`/items/${item.id}/edit`}>
              {t('item.edit')}
            </Link>
          )}
        </div>
      )}
    </article>
  );
}
