import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { NotificationSettings, TelegramLink } from '../components/AccountSettings.jsx';
import { ErrorBox, Field, Loading, Notice, SaveButton } from '../components/ui.jsx';
import { useI18n } from '../i18n.jsx';
import { LIMITS, validateProfile } from '../validation.js';

const VISIBILITY = ['public', 'matches', 'private'];

export default function Profile() {
  const { t, te, lang, setLang, number, fieldErrors } = useI18n();
  const { me, setMe } = useAuth();
  const [values, setValues] = useState(null);
  const [hasProfile, setHasProfile] = useState(false);
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    let alive = true;
    const base = {
      display_name: me.display_name || '',
      contact: me.contact || '',
      city: me.city || '',
      language: me.language || lang,
      visibility: 'public',
      about: '',
      hide_city: false,
    };
    api
      .get(`/profiles/${me.id}`)
      .then((res) => {
        if (!alive) return;
        setHasProfile(true);
        setValues({
          ...base,
          visibility: res.data.visibility,
          about: typeof res.data.data?.about === 'string' ? res.data.data.about : '',
          hide_city: res.data.data?.hide_city === true,
        });
      })
      .catch((err) => {
        if (!alive) return;
        if (err?.response?.status !== 404) setError(err);
        setValues(base);
      });
    return () => {
      alive = false;
    };
  }, [me]);

  if (!values) return error ? <ErrorBox error={error} /> : <Loading />;

  const set = (k) => (e) => {
    setSaved(false);
    setValues((v) => ({ ...v, [k]: e.target.value }));
  };

  const submit = async (e) => {
    e.preventDefault();
    setSaved(false);
    setError(null);
    const found = validateProfile(values);
    setErrors(found);
    if (Object.keys(found).length) return;
    setSaving(true);
    try {
      const city = values.city.trim() || null;
      const user = await api.patch(`/users/${me.id}`, {
        display_name: values.display_name.trim() || null,
        contact: values.contact.trim() || null,
        city,
        language: values.language,
      });
      const profile = {
        location: city,
        visibility: values.visibility,
        data: { about: values.about, hide_city: values.hide_city },
      };
      if (hasProfile) await api.patch(`/profiles/${me.id}`, profile);
      else {
        await api.post('/profiles/', profile);
        setHasProfile(true);
      }
      setMe(user.data);
      setSaved(true);
    } catch (err) {
      const fe = fieldErrors(err);
      if (Object.keys(fe).some((k) => k !== '_')) setErrors(fe);
      else setError(err);
    } finally {
      setSaving(false);
    }
  };

  return (
    <section className="narrow">
      <h1>{t('profile.title')}</h1>
      <div className="card profile-head">
        <div className="avatar" aria-hidden="true">
          {(me.display_name || me.username).slice(0, 1).toUpperCase()}
        </div>
        <div>
          <div className="strong">@{me.username}</div>
          <div className="muted small">
            {t('profile.trust')}:{' '}
            {me.trust_score != null
              ? `${t('profile.trustValue', {
                  score: number(me.trust_score, { maximumFractionDigits: 1, minimumFractionDigits: 1 }),
                })} · ${t('profile.ratings', { n: me.rating_count })}`
              : t('profile.noRating')}
          </div>
          <Link className="small" to={`/users/${me.id}`}>
            {t('profile.viewPublic')}
          </Link>
        </div>
      </div>
      <form className="card form" onSubmit={submit} noValidate>
        <Field label={t('profile.displayName')} error={te(errors.display_name)}>
          {(id, d, bad) => <input id={id} value={values.display_name} onChange={set('display_name')} aria-describedby={d} aria-invalid={bad} maxLength={LIMITS.displayNameMax + 10} />}
        </Field>
        <Field label={t('profile.contact')} hint={t('profile.contactHint')} error={te(errors.contact)}>
          {(id, d, bad) => <input id={id} value={values.contact} onChange={set('contact')} aria-describedby={d} aria-invalid={bad} />}
        </Field>
        <Field label={t('profile.city')} error={te(errors.city) || te(errors.location)}>
          {(id, d, bad) => <input id={id} value={values.city} onChange={set('city')} aria-describedby={d} aria-invalid={bad} autoComplete="address-level2" />}
        </Field>
        <label className="check">
          <input
            type="checkbox"
            checked={values.hide_city}
            onChange={(e) => {
              setSaved(false);
              setValues((v) => ({ ...v, hide_city: e.target.checked }));
            }}
          />
          {t('profile.hideCity')}
        </label>
        <Field label={t('profile.about')} error={te(errors.data)}>
          {(id, d, bad) => <textarea id={id} rows={3} value={values.about} onChange={set('about')} aria-describedby={d} aria-invalid={bad} />}
        </Field>
        <Field label={t('profile.visibility')} error={te(errors.visibility)}>
          {(id, d) => (
            <select id={id} value={values.visibility} onChange={set('visibility')} aria-describedby={d}>
              {VISIBILITY.map((v) => (
                <option key={v} value={v}>
                  {t(`profile.vis.${v}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t('profile.language')} error={te(errors.language)}>
          {(id, d) => (
            <select
              id={id}
              value={values.language}
              onChange={(e) => {
                set('language')(e);
                setLang(e.target.value);
              }}
              aria-describedby={d}
            >
              <option value="ru">{t('lang.ru')}</option>
              <option value="en">{t('lang.en')}</option>
            </select>
          )}
        </Field>
        <ErrorBox error={error} />
        {saved && <Notice>{t('profile.saved')}</Notice>}
        <SaveButton saving={saving} label={t('common.save')} />
      </form>
      <NotificationSettings />
      <TelegramLink />
    </section>
  );
}
