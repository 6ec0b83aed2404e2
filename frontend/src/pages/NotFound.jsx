import { Link } from 'react-router-dom';
import { useI18n } from '../i18n.jsx';

export default function NotFound() {
  const { t } = useI18n();
  return (
    <section className="narrow">
      <h1>404</h1>
      <p>{t('common.notFound')}</p>
      <Link to="/">{t('nav.browse')}</Link>
    </section>
  );
}
