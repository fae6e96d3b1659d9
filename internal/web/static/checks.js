// Field checks as the visitor types. They are a convenience: the server
// checks everything again and has the last word. A problem is a message key
// of the catalog and its parameters, chosen as the server's page chooses
// it: by the kind of field, and whether it is empty.

const OK = {
  email: v => /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(v),
  phone: v => /^\+?[\d\s().\/-]+$/.test(v) && /^(\D*\d){4,17}\D*$/.test(v),
  date: (v, el) => /^\d{4}-\d\d-\d\d$/.test(v) && !el.validity.badInput,
  number: (v, el, w) => {
    const n = el.validity.badInput ? NaN : Number(v);
    const {min, max} = w.dataset;
    return Number.isFinite(n) && !(min !== undefined && n < +min) && !(max !== undefined && n > +max);
  },
};

// check returns the problem of the field wrapper w, or null. With server
// set, the server has refused the field, so there is a problem even where
// these checks see none.
export function check(w, server) {
  const {kind} = w.dataset, required = w.hasAttribute('data-required') || server;
  const inputs = [...w.querySelectorAll('input,select')], el = inputs[0];
  const v = el.value.trim();
  if (kind === 'consent') return required && !el.checked ? ['err.consent'] : null;
  const empty = kind === 'single' || kind === 'multi' ? !inputs.some(i => i.checked) : v === '' && !el.validity.badInput;
  if (empty) return required ? ['err.required'] : null;
  if (!server && (!OK[kind] || OK[kind](v, el, w))) return null;
  switch (kind) {
    case 'email': case 'phone': case 'country': case 'date': return ['err.' + kind];
    case 'single': case 'multi': return ['err.choice'];
    case 'number': {
      const {min, max} = w.dataset;
      if (min !== undefined && max !== undefined) return ['err.number_range', {min, max}];
      if (min !== undefined) return ['err.number_min', {min}];
      if (max !== undefined) return ['err.number_max', {max}];
      return ['err.number'];
    }
  }
  return ['err.text'];
}

// mark shows msg beside the field, or clears it when msg is empty.
export function mark(w, msg) {
  const p = w.querySelector('.err');
  p.textContent = msg || '';
  p.hidden = !msg;
  for (const i of w.querySelectorAll('input,select')) {
    if (msg) i.setAttribute('aria-invalid', 'true');
    else i.removeAttribute('aria-invalid');
  }
}

// labelOf is the field's label without the "(required)" mark, or the
// shorter one the page gives for the summary.
export function labelOf(w) {
  if (w.dataset.label) return w.dataset.label;
  const l = w.querySelector('legend,label').cloneNode(true);
  l.querySelectorAll('.req,input').forEach(e => e.remove());
  return l.textContent.trim();
}
