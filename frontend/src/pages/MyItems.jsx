import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import ItemCard from '../components/ItemCard.jsx';
import { ErrorBox, Loading } from '../components/ui.jsx';
import { useAction, useCategories } from '../data.js';
import { useI18n } from '../i18n.jsx';

export default function MyItems() {
  const { t } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [busy, run] = useAction(setError);

  const load = useCallback(
    async (after) => {
      setError(null);
      try {
        const params = { user_id: me.id, limit: 50 };
        if (after) params.cursor = after;
        const res = await api.get('/items', { params });
        setItems((prev) => (after ? [...(prev || []), ...res.data.items] : res.data.items));
        setCursor(res.data.next_cursor);
      } catch (err) {
        setError(err);
      }
    },
    [me.id],
  );

  useEffect(() => {
    load(null);
  }, [load]);

  const deactivate = async (item) => {
    if (!window.confirm(t('item.confirmDeactivate', { title: item.title }))) return;
    await run(item.id, async () => {
      await api.delete(`/items/${item.id}`);
      setItems((list) => list.filter((i) => i.id !== item.id));
    });
  };

  return (
    <section>
      <div className="page-head">
        <h1>{t('my.title')}</h1>
        <Link className="btn btn-primary" to="/post">
          {t('nav.post')}
        </Link>
      </div>
      <ErrorBox error={error} onRetry={() => load(null)} />
      {items === null && !error && <Loading />}
      {items && items.length === 0 && (
        <p className="empty">
          {t('my.empty')} <Link to="/post">{t('my.postFirst')}</Link>
        </p>
      )}
      <div className="grid">
        {(items || []).map((item) => (
          <ItemCard
            key={item.id}
            item={item}
            categories={categories}
            actions={
              <>
                <Link className="btn btn-small" to={`/items/${item.id}/edit`}>
                  {t('item.edit')}
                </Link>
                <button type="button" className="btn btn-small btn-danger" disabled={busy === item.id} onClick={() => deactivate(item)}>
                  {t('item.deactivate')}
                </button>
              </>
            }
          />
        ))}
      </div>
      {cursor && (
        <div className="center">
          <button type="button" className="btn" onClick={() => load(cursor)}>
            {t('list.more')}
          </button>
        </div>
      )}
    </section>
  );
}
