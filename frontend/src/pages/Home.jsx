import { useCallback, useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { api } from '../api.js';
import ItemCard from '../components/ItemCard.jsx';
import { useAuth } from '../auth.jsx';
import { ErrorBox, Loading } from '../components/ui.jsx';
import { useCategories } from '../data.js';
import { useI18n } from '../i18n.jsx';
import { LIMITS } from '../validation.js';

const FILTERS = ['q', 'kind', 'category', 'city'];
const PAGE_SIZE = 20;

function paramsOf(searchParams) {
  const out = {};
  for (const f of FILTERS) {
    const v = (searchParams.get(f) || '').trim();
    if (v) out[f] = v;
  }
  return out;
}

export default function Home() {
  const { t, lang } = useI18n();
  const categories = useCategories();
  const [searchParams, setSearchParams] = useSearchParams();
  const filterKey = searchParams.toString();
  const [form, setForm] = useState(() => ({ q: '', kind: '', category: '', city: '', ...paramsOf(searchParams) }));
  const [items, setItems] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);
  const { me } = useAuth();
  const [filtersOpen, setFiltersOpen] = useState(false);

  const load = useCallback(
    async (after) => {
      setLoading(true);
      setError(null);
      try {
        const params = { ...paramsOf(new URLSearchParams(filterKey)), limit: PAGE_SIZE };
        if (after) params.cursor = after;
        const res = await api.get('/items', { params });
        setItems((prev) => (after ? [...prev, ...res.data.items] : res.data.items));
        setCursor(res.data.next_cursor);
      } catch (err) {
        setError(err);
      } finally {
        setLoading(false);
      }
    },
    [filterKey],
  );

  useEffect(() => {
    setForm({ q: '', kind: '', category: '', city: '', ...paramsOf(new URLSearchParams(filterKey)) });
    load(null);
  }, [filterKey, load]);

  const submit = (e) => {
    e.preventDefault();
    const next = {};
    for (const f of FILTERS) if (form[f].trim()) next[f] = form[f].trim();
    setSearchParams(next);
  };
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const sortedCategories = [...categories].sort((a, b) =>
    (lang === 'en' ? a.name_en : a.name_ru).localeCompare(lang === 'en' ? b.name_en : b.name_ru, lang),
  );

  return (
    <section>
      <div className="hero">
        <h1>{t('home.title')}</h1>
        <p className="hero-text">{t('home.explain')}</p>
        <Link className="btn btn-primary" to={me ? '/post' : '/login?next=%2Fpost'}>
          {me ? t('home.cta') : t('home.ctaSignIn')}
        </Link>
      </div>
      <div className="home-body">
      <h2 className="sr-only">{t('home.listings')}</h2>
      <button
        type="button"
        className="btn filters-toggle"
        aria-expanded={filtersOpen || Boolean(filterKey)}
        aria-controls="filters"
        onClick={() => setFiltersOpen((o) => !o)}
      >
        {t('filter.show')}
      </button>
      <form
        id="filters"
        className={filtersOpen || filterKey ? 'filters card open' : 'filters card'}
        role="search"
        onSubmit={submit}
      >
        <div className="filter-q">
          <label htmlFor="f-q">{t('filter.q')}</label>
          <input
            id="f-q"
            type="search"
            name="q"
            maxLength={200}
            value={form.q}
            placeholder={t('filter.qPlaceholder')}
            onChange={set('q')}
          />
        </div>
        <div>
          <label htmlFor="f-kind">{t('filter.kind')}</label>
          <select id="f-kind" name="kind" value={form.kind} onChange={set('kind')}>
            <option value="">{t('kind.all')}</option>
            <option value="offer">{t('kind.offer')}</option>
            <option value="want">{t('kind.want')}</option>
          </select>
        </div>
        <div>
          <label htmlFor="f-category">{t('filter.category')}</label>
          <select id="f-category" name="category" value={form.category} onChange={set('category')}>
            <option value="">{t('filter.allCategories')}</option>
            {sortedCategories.map((c) => (
              <option key={c.slug} value={c.slug}>
                {lang === 'en' ? c.name_en : c.name_ru}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-city">{t('filter.city')}</label>
          <input
            id="f-city"
            name="city"
            maxLength={LIMITS.cityMax}
            value={form.city}
            placeholder={t('filter.cityPlaceholder')}
            onChange={set('city')}
          />
        </div>
        <div className="filter-buttons">
          <button type="submit" className="btn btn-primary">
            {t('filter.search')}
          </button>
          {filterKey && (
            <button type="button" className="btn" onClick={() => setSearchParams({})}>
              {t('filter.reset')}
            </button>
          )}
        </div>
      </form>

      <ErrorBox error={error} onRetry={() => load(null)} />
      {!loading && !error && items.length === 0 && <p className="empty">{t('list.empty')}</p>}
      <div className="grid" aria-live="polite" data-testid="item-list">
        {items.map((item) => (
          <ItemCard key={item.id} item={item} categories={categories} />
        ))}
      </div>
      {loading && <Loading />}
      {!loading && cursor && (
        <div className="center">
          <button type="button" className="btn" onClick={() => load(cursor)}>
            {t('list.more')}
          </button>
        </div>
      )}
      {items.length > 0 && <p className="muted small center">{t('list.count', { n: items.length })}</p>}
      </div>
    </section>
  );
}
