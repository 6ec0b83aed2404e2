import { Link } from 'react-router-dom';
import { categoryName, formatDate } from '../data.js';
import { useI18n } from '../i18n.jsx';
import { IconText, KindBadge, Thumb } from './ui.jsx';

export default function ItemCard({ item, categories, actions }) {
  const { t, lang } = useI18n();
  return (
    <article className={item.active ? 'card item-card' : 'card item-card inactive'} data-item-id={item.id}>
      {item.photos?.length > 0 && (
        <Link to={`/items/${item.id}`} className="card-photo" tabIndex={-1} aria-hidden="true">
          <Thumb item={item} />
        </Link>
      )}
      <div className="card-top">
        <KindBadge kind={item.kind} />
        <span className="muted small">{categoryName(categories, item.category, lang)}</span>
      </div>
      <h3 className="card-title">
        <Link to={`/items/${item.id}`}>{item.title}</Link>
      </h3>
      {item.description && <p className="card-text">{item.description}</p>}
      <div className="card-meta">
        {item.city && <IconText icon="pin">{item.city}</IconText>}
        {item.delivery && <IconText icon="truck">{t('item.delivery')}</IconText>}
        <span className="muted">{formatDate(item.created_at, lang)}</span>
        {!item.active && <span className="badge badge-muted">{t('item.inactive')}</span>}
      </div>
      {actions && <div className="card-actions">{actions}</div>}
    </article>
  );
}
