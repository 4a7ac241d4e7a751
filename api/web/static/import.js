// The import page: create shops, then send products (pasted, from a file
// or the embedded sample catalogue) to /v1/generate for the chosen shops.
// A bad line is reported with its number and the rest keep going.
'use strict';
(function () {
  const LG = window.LG;
  const $ = function (id) { return document.getElementById(id); };
  const MAX_SHOPS_PER_CALL = 20;

  $('shop-form').addEventListener('submit', async function (e) {
    e.preventDefault();
    const f = e.target;
    const body = { name: f.elements.name.value.trim(), platform: f.elements.platform.value };
    if (f.elements.group.value.trim()) body.group = f.elements.group.value.trim();
    const r = await LG.api('POST', '/v1/shops', body);
    const msg = $('shop-msg');
    if (!r.ok) { msg.textContent = LG.problemText(r.body); msg.classList.add('bad'); return; }
    msg.textContent = LG.t('ok.saved') + ': ' + r.body.name;
    msg.classList.remove('bad');
    const none = $('no-shops');
    if (none) none.remove();
    const box = LG.el('input', { type: 'checkbox', name: 'shop', value: r.body.id });
    box.checked = true;
    $('shop-list').appendChild(LG.el('label', { 'class': 'shop' }, [box, ' ' + r.body.name + ' ', LG.el('small', {}, LG.label('platform', r.body.platform))]));
    f.reset();
  });

  $('file').addEventListener('change', function (e) {
    const file = e.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = function () { $('products').value = String(reader.result); };
    reader.readAsText(file);
  });

  $('load-sample').addEventListener('click', async function () {
    const resp = await fetch('/ui/sample.jsonl', { credentials: 'same-origin' });
    $('products').value = await resp.text();
  });

  // parse returns [{line, product}] and [{line, message}] for bad lines.
  function parse(text) {
    const items = [], errors = [];
    const trimmed = text.trim();
    if (trimmed.charAt(0) === '[') {
      try {
        JSON.parse(trimmed).forEach(function (p, i) { items.push({ line: i + 1, product: p }); });
      } catch (e) { errors.push({ line: 1, message: String(e.message || e) }); }
      return { items: items, errors: errors };
    }
    text.split('\n').forEach(function (line, i) {
      if (!line.trim()) return;
      try { items.push({ line: i + 1, product: JSON.parse(line) }); } catch (e) { errors.push({ line: i + 1, message: String(e.message || e) }); }
    });
    return { items: items, errors: errors };
  }

  function reportError(line, message) {
    $('import-errors').appendChild(LG.el('li', {}, LG.t('import.line') + ' ' + line + ' ' + LG.t('import.line_suffix') + ': ' + message));
  }

  $('generate').addEventListener('click', async function () {
    const shops = Array.from(document.querySelectorAll('#shop-list input[name=shop]:checked')).map(function (b) { return b.value; });
    $('import-errors').textContent = '';
    if (!shops.length) { reportError('-', LG.t('import.pick_shop')); return; }
    const parsed = parse($('products').value);
    parsed.errors.forEach(function (e) { reportError(e.line, e.message); });
    if (!parsed.items.length) { reportError('-', LG.t('import.no_products')); return; }
    const calls = [];
    parsed.items.forEach(function (it) {
      for (let i = 0; i < shops.length; i += MAX_SHOPS_PER_CALL) calls.push({ line: it.line, product: it.product, shops: shops.slice(i, i + MAX_SHOPS_PER_CALL) });
    });
    const progress = $('progress');
    progress.max = calls.length;
    progress.value = 0;
    let done = 0, listings = 0, failed = parsed.errors.length;
    $('generate').disabled = true;
    async function worker() {
      while (calls.length) {
        const c = calls.shift();
        const r = await LG.api('POST', '/v1/generate', { product: c.product, shop_ids: c.shops });
        if (r.ok) listings += r.body.listings.length; else { failed++; reportError(c.line, LG.problemText(r.body)); }
        done++;
        progress.value = done;
        $('progress-text').textContent = done + ' / ' + progress.max + ' · ' + listings + ' · ' + LG.t('import.errors') + ': ' + failed;
      }
    }
    await Promise.all([worker(), worker(), worker()]);
    $('generate').disabled = false;
    $('progress-text').textContent = LG.t('import.done') + ': ' + listings + ' · ' + LG.t('import.errors') + ': ' + failed;
  });
  // Tests (and people's scripts) wait for this before using the page.
  document.body.dataset.ready = '1';
})();
