// Client-side checks mirroring the API's limits (freemarket/fields.py, freemarket/models.py).
export const LIMITS = {
  titleMin: 2,
  titleMax: 200,
  descriptionMax: 5000,
  cityMax: 100,
  contactMax: 200,
  displayNameMax: 128,
  commentMax: 1000,
};

const KINDS = ['offer', 'want'];
const SLUG = /^[a-z_]{2,32}$/;

/** Errors of an item form as {field: messageKey or [messageKey, param]}; empty when valid. */
export function validateItem(values, { creating = true } = {}) {
  const errors = {};
  const title = (values.title || '').trim();
  if (creating && !KINDS.includes(values.kind)) errors.kind = 'v.kind';
  if (!SLUG.test(values.category || '')) errors.category = 'v.category';
  if (title.length < LIMITS.titleMin) errors.title = ['v.tooShort', LIMITS.titleMin];
  else if (title.length > LIMITS.titleMax) errors.title = ['v.tooLong', LIMITS.titleMax];
  if ((values.description || '').length > LIMITS.descriptionMax) {
    errors.description = ['v.tooLong', LIMITS.descriptionMax];
  }
  if ((values.city || '').trim().length > LIMITS.cityMax) errors.city = ['v.tooLong', LIMITS.cityMax];
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'string' && v.includes('\u0000')) errors[k] = 'v.nul';
  }
  return errors;
}

/** The JSON body for POST /api/items/ (or PATCH, without kind) from form values. */
export function itemBody(values, { creating = true } = {}) {
  const city = (values.city || '').trim();
  const body = {
    category: values.category,
    title: (values.title || '').trim(),
    description: values.description || '',
    city: city || null,
    delivery: Boolean(values.delivery),
  };
  if (creating) body.kind = values.kind;
  return body;
}

export function validateProfile(values) {
  const errors = {};
  if ((values.display_name || '').length > LIMITS.displayNameMax) {
    errors.display_name = ['v.tooLong', LIMITS.displayNameMax];
  }
  if ((values.contact || '').length > LIMITS.contactMax) errors.contact = ['v.tooLong', LIMITS.contactMax];
  if ((values.city || '').trim().length > LIMITS.cityMax) errors.city = ['v.tooLong', LIMITS.cityMax];
  return errors;
}

export function validateRating(values) {
  const errors = {};
  const score = Number(values.score);
  if (!Number.isInteger(score) || score < 1 || score > 5) errors.score = 'v.stars';
  if ((values.comment || '').length > LIMITS.commentMax) errors.comment = ['v.tooLong', LIMITS.commentMax];
  return errors;
}
