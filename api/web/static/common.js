// Shared helpers of the preview UI. Everything that shows product or model
// text builds DOM nodes and sets textContent: no innerHTML anywhere, so no
// text is ever parsed as HTML.
'use strict';
window.LG = (function () {
  const dataEl = document.getElementById('page-data');
  const data = dataEl ? JSON.parse(dataEl.textContent || '{}') || {} : {};
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';
  const messages = data.messages || {};

  function t(key) { return messages[key] || key; }

  // label is the word for a value of one of the API's enumerations, as
  // the server's pages show it: messages are keyed "group.value".
  function label(group, value) { return t(group + '.' + value); }

  // field names a copy field (title, selling_points[2] …) as the server's
  // pages do: indexed fields count from one.
  function field(f) {
    const m = /^([a-z_.]+)\[(\d+)\]$/.exec(f);
    return m ? label('field', m[1]) + ' ' + (Number(m[2]) + 1) : label('field', f);
  }

  // api calls the JSON API with the CSRF token and returns {ok, status, body}.
  async function api(method, path, body) {
    const opts = { method: method, credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      return { ok: false, status: 0, body: { detail: String(e) } };
    }
    let json = null;
    try { json = await resp.json(); } catch (e) { json = null; }
    return { ok: resp.ok, status: resp.status, body: json };
  }

  // problemText renders an RFC 9457 problem: detail and each field error.
  function problemText(p) {
    if (!p) return t('err.failed');
    let s = p.detail || p.title || t('err.failed');
    if (p.errors && p.errors.length) {
      s += ' (' + p.errors.map(function (e) { return e.field + ': ' + e.message; }).join('; ') + ')';
    }
    return s;
  }

  // el makes an element with attributes and text or child nodes.
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  let toastTimer = null;
  function toast(text) {
    const box = document.getElementById('toast');
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 3000);
  }

  // titleUnits counts like the platforms and the server: ASCII 1, else 2.
  function titleUnits(s) {
    let n = 0;
    for (const ch of s) n += ch.codePointAt(0) < 128 ? 1 : 2;
    return n;
  }

  // typing reports whether a key event belongs to a form field, where
  // single-letter shortcuts must not fire.
  function typing(e) {
    const tag = e.target && e.target.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (e.target && e.target.isContentEditable) ||
      e.ctrlKey || e.metaKey || e.altKey;
  }

  // markText fills container with text, wrapping the violations (rune
  // offsets start..end, as the API reports them) in <mark>.
  function markText(container, text, violations) {
    container.textContent = '';
    const runes = Array.from(text);
    const owner = new Array(runes.length).fill(-1);
    violations.forEach(function (v, i) {
      for (let k = Math.max(v.start, 0); k < Math.min(v.end, runes.length); k++) owner[k] = i;
    });
    let start = 0;
    for (let i = 1; i <= runes.length; i++) {
      if (i < runes.length && owner[i] === owner[start]) continue;
      const chunk = runes.slice(start, i).join('');
      if (owner[start] < 0) {
        container.appendChild(document.createTextNode(chunk));
      } else {
        const v = violations[owner[start]];
        container.appendChild(el('mark', { 'class': 'violation sev-' + v.severity, title: v.rule + (v.suggestion ? ' → ' + v.suggestion : '') }, chunk));
      }
      start = i;
    }
  }

  // patchStatus approves or rejects a listing at a known version.
  function patchStatus(id, version, status) {
    return api('PATCH', '/v1/listings/' + encodeURIComponent(id), { status: status, version: version });
  }

  return { data: data, t: t, label: label, field: field, api: api, problemText: problemText, el: el, toast: toast, titleUnits: titleUnits,
    typing: typing, markText: markText, patchStatus: patchStatus, csrf: csrf };
})();
