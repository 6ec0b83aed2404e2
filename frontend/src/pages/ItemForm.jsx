import { useEffect, useMemo, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox, Field, Loading, SaveButton } from '../components/ui.jsx';
import { rememberItem, useCategories } from '../data.js';
import { useI18n } from '../i18n.jsx';
import { LIMITS, itemBody, validateItem } from '../validation.js';

export const MAX_PHOTOS = 5;
const PHOTO_MAX_MB = 10;

/** Photos already on the item (removable at once) and new files (uploaded on save). */
function PhotoPicker({ existing, files, onAdd, onRemoveFile, onRemoveExisting, error }) {
  const { t } = useI18n();
  const previews = useMemo(() => files.map((f) => URL.createObjectURL(f)), [files]);
  useEffect(() => () => previews.forEach((u) => URL.revokeObjectURL(u)), [previews]);
  const total = existing.length + files.length;
  return (
    <fieldset className="field photos-field">
      <legend>{t('form.photos', { max: MAX_PHOTOS })}</legend>
      <ul className="photo-list">
        {existing.map((photo, i) => (
          <li key={`p${photo.id}`}>
            <img src={photo.thumb_url} alt={t('item.photoAlt', { title: '', n: i + 1, total })} />
            <button type="button" className="btn btn-small" onClick={() => onRemoveExisting(photo)}>
              {t('form.removePhoto', { n: i + 1 })}
            </button>
          </li>
        ))}
        {files.map((file, i) => (
          <li key={`f${i}-${file.name}`}>
            <img src={previews[i]} alt={t('item.photoAlt', { title: file.name, n: existing.length + i + 1, total })} />
            <button type="button" className="btn btn-small" onClick={() => onRemoveFile(i)}>
              {t('form.removePhoto', { n: existing.length + i + 1 })}
            </button>
          </li>
        ))}
      </ul>
      {total < MAX_PHOTOS && (
        <label className="btn photo-add">
          <input
            type="file"
            accept="image/jpeg,image/png,image/webp,image/gif"
            multiple
            className="sr-only"
            aria-describedby="photo-hint"
            onChange={(e) => {
              onAdd([...e.target.files]);
              e.target.value = '';
            }}
          />
          {t('form.photos', { max: MAX_PHOTOS })}
        </label>
      )}
      <small id="photo-hint" className="hint">
        {t('form.photosHint', { mb: PHOTO_MAX_MB })}
      </small>
      {error && (
        <small className="field-error" role="alert">
          {error}
        </small>
      )}
    </fieldset>
  );
}

const EMPTY = { kind: 'offer', category: '', title: '', description: '', city: '', delivery: false };

export default function ItemForm() {
  const { id } = useParams();
  const creating = !id;
  const { t, te, lang, error: describeError, fieldErrors } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const navigate = useNavigate();
  const [values, setValues] = useState(() => ({ ...EMPTY, city: me?.city || '' }));
  const [errors, setErrors] = useState({});
  const [serverErrors, setServerErrors] = useState({});
  const [error, setError] = useState(null);
  const [loaded, setLoaded] = useState(creating);
  const [saving, setSaving] = useState(false);
  const [photos, setPhotos] = useState([]);
  const [files, setFiles] = useState([]);
  const [photoError, setPhotoError] = useState(null);
  const [progress, setProgress] = useState(null);

  const addFiles = (picked) => {
    const room = MAX_PHOTOS - photos.length - files.length;
    setPhotoError(picked.length > room ? t('form.tooManyPhotos', { max: MAX_PHOTOS }) : null);
    setFiles((old) => [...old, ...picked.slice(0, Math.max(0, room))]);
  };
  const removeExisting = async (photo) => {
    try {
      const res = await api.delete(`/items/${id}/photos/${photo.id}`);
      setPhotos(res.data.photos);
    } catch (err) {
      setPhotoError(describeError(err));
    }
  };
  /** Upload the chosen files one by one; the messages of those that failed. */
  const uploadAll = async (itemId) => {
    const failed = [];
    for (const [i, file] of files.entries()) {
      setProgress(t('form.uploading', { n: i + 1, total: files.length }));
      try {
        await api.post(`/items/${itemId}/photos`, file, {
          headers: { 'Content-Type': file.type || 'application/octet-stream' },
          timeout: 120000,
        });
      } catch (err) {
        failed.push(t('form.photoFailed', { name: file.name, reason: describeError(err) }));
      }
    }
    setProgress(null);
    return failed;
  };

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
        setPhotos(it.photos || []);
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
      const failed = await uploadAll(res.data.id);
      const fresh = files.length ? (await api.get(`/items/${res.data.id}`)).data : res.data;
      rememberItem(fresh);
      navigate(`/items/${res.data.id}${creating ? '?posted=1' : ''}`, { state: { photoErrors: failed } });
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
        <PhotoPicker
          existing={photos}
          files={files}
          onAdd={addFiles}
          onRemoveFile={(i) => setFiles((old) => old.filter((_, j) => j !== i))}
          onRemoveExisting={removeExisting}
          error={photoError}
        />
        {progress && (
          <p className="muted" role="status">
            {progress}
          </p>
        )}
        {hasErrors && <p className="field-error">{t('form.fixErrors')}</p>}
        <ErrorBox error={error} />
        <SaveButton saving={saving} label={creating ? t('form.create') : t('form.save')} />
      </form>
    </section>
  );
}
