import { useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { api, fieldErrors } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox, Field, Loading } from '../components/ui.jsx';
import { rememberItem, useCategories } from '../data.js';
import { useI18n } from '../i18n.jsx';
import { LIMITS, itemBody, validateItem } from '../validation.js';

const EMPTY = { kind: 'offer', category: '', title: '', description: '', city: '', delivery: false };

export default function ItemForm() {
  const { id } = useParams();
  const creating = !id;
  const { t, te, lang } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const navigate = useNavigate();
  const [values, setValues] = useState(() => ({ ...EMPTY, city: me?.city || '' }));
  const [errors, setErrors] = useState({});
  const [serverErrors, setServerErrors] = useState({});
  const [error, setError] = useState(null);
  const [loaded, setLoaded] = useState(creating);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (creating) return;
    api
      .get(`/items/${encodeURIComponent(id)}`)
      .then((res) => {
        const it = res.data;
        setValues({
          kind: it.kind,
          category: it.category,
          title: it.title,
          description: it.description || '',
          city: it.city || '',
          delivery: it.delivery,
        });
        setLoaded(true);
      })
      .catch(setError);
  }, [id, creating]);

  const set = (k) => (e) => {
    const v = e.target.type === 'checkbox' ? e.target.checked : e.target.value;
    setValues((old) => ({ ...old, [k]: v }));
    setServerErrors((s) => ({ ...s, [k]: undefined }));
    if (errors[k]) setErrors(validateItem({ ...values, [k]: v }, { creating }));
  };

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const found = validateItem(values, { creating });
    setErrors(found);
    setServerErrors({});
    if (Object.keys(found).length) {
      const first = document.querySelector('.field.has-error input, .field.has-error select, .field.has-error textarea');
      first?.focus();
      return;
    }
    setSaving(true);
    try {
      const body = itemBody(values, { creating });
      const res = creating ? await api.post('/items/', body) : await api.patch(`/items/${id}`, body);
      rememberItem(res.data);
      navigate(`/items/${res.data.id}`);
    } catch (err) {
      const perField = fieldErrors(err);
      if (Object.keys(perField).some((k) => k !== '_')) setServerErrors(perField);
      else setError(err);
    } finally {
      setSaving(false);
    }
  };

  if (!loaded) return error ? <ErrorBox error={error} /> : <Loading />;
  const err = (k) => te(errors[k]) || serverErrors[k];
  const hasErrors = Object.keys(errors).length > 0 || Object.values(serverErrors).some(Boolean);

  return (
    <section className="narrow">
      <h1>{creating ? t('form.newTitle') : t('form.editTitle')}</h1>
      <form className="card form" onSubmit={submit} noValidate>
        {creating && (
          <fieldset className={errors.kind || serverErrors.kind ? 'field has-error' : 'field'}>
            <legend>{t('form.kind')}</legend>
            <div className="segmented">
              {['offer', 'want'].map((k) => (
                <label key={k} className={values.kind === k ? 'seg on' : 'seg'}>
                  <input type="radio" name="kind" value={k} checked={values.kind === k} onChange={set('kind')} />
                  {t(k === 'offer' ? 'form.kindOffer' : 'form.kindWant')}
                </label>
              ))}
            </div>
            {err('kind') && <small className="field-error">{err('kind')}</small>}
          </fieldset>
        )}
        <Field label={t('form.category')} error={err('category')}>
          {(fid, desc, bad) => (
            <select id={fid} name="category" value={values.category} onChange={set('category')} aria-describedby={desc} aria-invalid={bad}>
              <option value="">{t('form.chooseCategory')}</option>
              {categories.map((c) => (
                <option key={c.slug} value={c.slug}>
                  {lang === 'en' ? c.name_en : c.name_ru}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label={t('form.title')}
          hint={t('form.titleHint')}
          error={err('title')}
          counter={t('form.chars', { n: values.title.length, max: LIMITS.titleMax })}
        >
          {(fid, desc, bad) => (
            <input id={fid} name="title" value={values.title} onChange={set('title')} aria-describedby={desc} aria-invalid={bad} autoComplete="off" />
          )}
        </Field>
        <Field
          label={t('form.description')}
          hint={t('form.descriptionHint')}
          error={err('description')}
          counter={t('form.chars', { n: values.description.length, max: LIMITS.descriptionMax })}
        >
          {(fid, desc, bad) => (
            <textarea id={fid} name="description" rows={5} value={values.description} onChange={set('description')} aria-describedby={desc} aria-invalid={bad} />
          )}
        </Field>
        <Field label={t('form.city')} error={err('city')}>
          {(fid, desc, bad) => (
            <input id={fid} name="city" value={values.city} onChange={set('city')} aria-describedby={desc} aria-invalid={bad} autoComplete="address-level2" />
          )}
        </Field>
        <label className="check">
          <input type="checkbox" name="delivery" checked={values.delivery} onChange={set('delivery')} />
          {t('form.delivery')}
        </label>
        {hasErrors && <p className="field-error">{t('form.fixErrors')}</p>}
        <ErrorBox error={error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={saving}>
            {saving ? t('form.saving') : creating ? t('form.create') : t('form.save')}
          </button>
        </div>
      </form>
    </section>
  );
}
