// The review queue: j/k move, x select, a approve, r reject, e edit,
// Enter/o open; bulk approve or reject of the selected rows.
'use strict';
(function () {
  const LG = window.LG;
  const table = document.getElementById('queue');
  const rows = table ? Array.from(table.tBodies[0].rows) : [];
  let cur = rows.length ? 0 : -1;

  function show() {
    rows.forEach(function (r, i) { r.classList.toggle('current', i === cur); });
    if (cur >= 0) rows[cur].scrollIntoView({ block: 'nearest' });
  }

  async function setStatus(row, status) {
    const r = await LG.patchStatus(row.dataset.id, Number(row.dataset.version), status);
    const msg = row.querySelector('.row-msg');
    if (r.ok) {
      row.dataset.version = r.body.version;
      const badge = row.querySelector('.status .badge');
      badge.className = 'badge status-' + r.body.status;
      badge.textContent = LG.label('status', r.body.status);
      msg.textContent = '';
      row.classList.remove('failed');
      return true;
    }
    msg.textContent = LG.problemText(r.body);
    row.classList.add('failed');
    return false;
  }

  function picked() { return rows.filter(function (r) { return r.querySelector('.pick').checked; }); }
  function updateCount() { document.getElementById('selected-count').textContent = String(picked().length); }

  // bulk sets the status of every selected row, four requests at a time,
  // and keeps going past rows the server refuses (they say why).
  async function bulk(status) {
    const todo = picked();
    let ok = 0, failed = 0;
    const queue = todo.slice();
    async function worker() {
      while (queue.length) {
        const row = queue.shift();
        if (await setStatus(row, status)) ok++; else failed++;
      }
    }
    await Promise.all([worker(), worker(), worker(), worker()]);
    const text = LG.t('ok.' + status) + ': ' + ok + (failed ? ' · ' + LG.t('err.failed') + ': ' + failed : '');
    document.getElementById('bulk-result').textContent = text;
    LG.toast(text);
  }

  rows.forEach(function (r, i) {
    r.addEventListener('click', function (e) {
      if (e.target.tagName !== 'A' && e.target.tagName !== 'INPUT') { cur = i; show(); }
    });
    r.querySelector('.pick').addEventListener('change', updateCount);
  });
  const all = document.getElementById('select-all');
  if (all) all.addEventListener('change', function () {
    rows.forEach(function (r) { r.querySelector('.pick').checked = all.checked; });
    updateCount();
  });
  document.getElementById('bulk-approve').addEventListener('click', function () { bulk('approved'); });
  document.getElementById('bulk-reject').addEventListener('click', function () { bulk('rejected'); });

  document.addEventListener('keydown', async function (e) {
    if (LG.typing(e) || cur < 0) return;
    const row = rows[cur];
    const href = '/ui/listings/' + encodeURIComponent(row.dataset.id);
    switch (e.key) {
      case 'j': cur = Math.min(cur + 1, rows.length - 1); show(); break;
      case 'k': cur = Math.max(cur - 1, 0); show(); break;
      case 'x': { const box = row.querySelector('.pick'); box.checked = !box.checked; updateCount(); break; }
      case 'a': case 'r':
        if (await setStatus(row, e.key === 'a' ? 'approved' : 'rejected') && cur < rows.length - 1) { cur++; show(); }
        break;
      case 'e': window.location.href = href + '#edit'; break;
      case 'Enter': case 'o': window.location.href = href; break;
      default: return;
    }
    e.preventDefault();
  });
  show();
  // Tests (and people's scripts) wait for this before using the page.
  document.body.dataset.ready = '1';
})();
