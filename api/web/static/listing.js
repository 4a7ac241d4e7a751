// The listing view: approve (a), reject (r), edit (e) with a live length
// counter and a debounced compliance check as you type, and regeneration
// with the model's output streamed in.
'use strict';
(function () {
  const LG = window.LG;
  const d = LG.data;
  const $ = function (id) { return document.getElementById(id); };
  let version = d.version;

  function say(id, text, bad) {
    const node = $(id);
    node.textContent = text;
    node.classList.toggle('bad', !!bad);
  }

  function setStatusBadge(status) {
    const b = $('status-badge');
    b.className = 'badge status-' + status;
    b.textContent = LG.label('status', status);
  }

  async function setStatus(status) {
    const r = await LG.patchStatus(d.id, version, status);
    if (r.ok) {
      version = r.body.version;
      $('version').textContent = String(version);
      setStatusBadge(r.body.status);
      say('action-msg', LG.t('ok.' + status));
    } else {
      say('action-msg', LG.problemText(r.body), true);
    }
  }

  // --- editing -----------------------------------------------------------
  const title = $('edit-title'), points = $('edit-points'), desc = $('edit-description');
  let checkSeq = 0, timer = null;

  function editedCopy() {
    return {
      title: title.value,
      selling_points: points.value.split('\n').map(function (s) { return s.trim(); }).filter(Boolean),
      description: desc.value
    };
  }

  function updateCounter() {
    const units = LG.titleUnits(title.value);
    const counter = $('counter');
    counter.textContent = units + ' / ' + d.title_max;
    counter.classList.toggle('over', units > d.title_max);
  }

  function renderViolations(list) {
    const ul = $('live-violations');
    ul.textContent = '';
    if (!list.length) { ul.appendChild(LG.el('li', { 'class': 'ok' }, LG.t('listing.no_violations'))); return; }
    list.forEach(function (v) {
      const parts = [LG.field(v.field) + ': '];
      if (v.term) parts.push(LG.el('mark', { 'class': 'violation sev-' + v.severity }, v.term), ' ');
      parts.push(v.rule);
      if (v.suggestion) parts.push(' → ' + LG.t('listing.suggestion') + ': ' + v.suggestion);
      ul.appendChild(LG.el('li', { 'class': 'sev-' + v.severity }, parts));
    });
  }

  // check asks the server's compliance checker (the pipeline's, with the
  // shop's and tenant's words) about the edited copy. Answers that arrive
  // after a newer request was sent are dropped.
  async function check() {
    const seq = ++checkSeq;
    const cp = editedCopy();
    const r = await LG.api('POST', '/v1/compliance/check', { shop_id: d.shop_id, title: cp.title, selling_points: cp.selling_points, description: cp.description });
    if (seq !== checkSeq) return;
    if (!r.ok) { say('check-state', LG.problemText(r.body), true); return; }
    const vs = r.body.violations || [];
    LG.markText($('edit-preview'), cp.title, vs.filter(function (v) { return v.field === 'title'; }));
    renderViolations(vs);
    say('check-state', LG.t('listing.checked'));
  }

  function onEdit() {
    updateCounter();
    say('check-state', LG.t('listing.checking'));
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  }

  function openEditor() {
    $('editor').hidden = false;
    title.focus();
    updateCounter();
    check();
  }

  async function save() {
    const r = await LG.api('PATCH', '/v1/listings/' + encodeURIComponent(d.id), { copy: editedCopy(), version: version });
    if (r.ok) {
      say('save-msg', LG.t('ok.saved'));
      window.location.reload();
    } else {
      say('save-msg', r.status === 409 ? LG.t('err.conflict') : LG.problemText(r.body), true);
    }
  }

  [title, points, desc].forEach(function (f) { f.addEventListener('input', onEdit); });
  $('edit').addEventListener('click', openEditor);
  $('save').addEventListener('click', save);
  $('cancel').addEventListener('click', function () { $('editor').hidden = true; });
  $('approve').addEventListener('click', function () { setStatus('approved'); });
  $('reject').addEventListener('click', function () { setStatus('rejected'); });

  // --- regeneration -------------------------------------------------------
  // The stream endpoint is read with fetch rather than EventSource so that
  // the request carries the CSRF header: it regenerates the listing.
  async function regenerate() {
    const out = $('stream-out');
    $('stream-card').hidden = false;
    out.textContent = '';
    say('stream-status', LG.t('listing.checking'));
    $('regenerate').disabled = true;
    try {
      const resp = await fetch('/v1/listings/' + encodeURIComponent(d.id) + '/stream',
        { credentials: 'same-origin', headers: { 'X-CSRF-Token': LG.csrf, 'Accept': 'text/event-stream' } });
      if (!resp.ok) {
        let p = null;
        try { p = await resp.json(); } catch (e) { p = null; }
        say('stream-status', LG.problemText(p), true);
        return;
      }
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buf += decoder.decode(chunk.value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          handleEvent(buf.slice(0, cut), out);
          buf = buf.slice(cut + 2);
        }
      }
    } finally {
      $('regenerate').disabled = false;
    }
  }

  function handleEvent(block, out) {
    let event = 'message', data = '';
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event:') === 0) event = line.slice(6).trim();
      else if (line.indexOf('data:') === 0) data += line.slice(5).trim();
    });
    let payload = null;
    try { payload = JSON.parse(data); } catch (e) { return; }
    if (event === 'delta') {
      out.appendChild(document.createTextNode(payload.text));
    } else if (event === 'listing') {
      version = payload.version;
      $('version').textContent = String(version);
      setStatusBadge(payload.status);
      $('listing-title').textContent = payload.copy.title;
      $('generated-title').textContent = payload.copy.title;
      $('generated-description').textContent = payload.copy.description;
      title.value = payload.copy.title;
      points.value = (payload.copy.selling_points || []).join('\n');
      desc.value = payload.copy.description;
      const counter = $('view-counter');
      counter.textContent = LG.titleUnits(payload.copy.title) + ' / ' + d.title_max;
      say('stream-status', LG.t('import.done') + ': ' + payload.copy.title);
    } else if (event === 'problem') {
      say('stream-status', LG.problemText(payload), true);
    }
  }
  $('regenerate').addEventListener('click', regenerate);

  document.addEventListener('keydown', function (e) {
    if (LG.typing(e)) {
      if (e.key === 'Escape') e.target.blur();
      return;
    }
    switch (e.key) {
      case 'a': setStatus('approved'); break;
      case 'r': setStatus('rejected'); break;
      case 'e': openEditor(); break;
      default: return;
    }
    e.preventDefault();
  });
  if (window.location.hash === '#edit') openEditor();
  // Tests (and people's scripts) wait for this before using the page.
  document.body.dataset.ready = '1';
})();
