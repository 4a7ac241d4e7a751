// The batch job view. While the job runs, its progress, counts per state,
// items taken back from a stopped worker, throughput, ETA, tokens and cost
// are polled from GET /v1/jobs/{id} every POLL_MS, and polling stops once
// it has settled (completed, cancelled or
// paused by its budget, with no item queued or in progress); the failed
// items are fetched again when their number changes. Cancel, retry failed
// and resume call the API with the CSRF token. Product text is only ever
// set as textContent.
'use strict';
(function () {
  const LG = window.LG;
  const d = LG.data;
  const $ = function (id) { return document.getElementById(id); };
  const POLL_MS = 1500;
  const path = '/v1/jobs/' + encodeURIComponent(d.id);
  let job = d.job;
  let timer = null;

  function errorsOf(j) { return (j.counts.failed || 0) + (j.counts.invalid || 0); }
  let errorCount = errorsOf(job);

  // progress counts as the server does: items done or failed out of those
  // that run at all (invalid and skipped rows never do).
  function progress(j) {
    const c = j.counts;
    return { finished: (c.done || 0) + (c.failed || 0), total: j.items - (c.invalid || 0) - (c.skipped || 0) };
  }

  function eta(secs) {
    if (secs === undefined || secs === null) return '—';
    const s = Math.round(secs);
    const two = function (n) { return String(n).padStart(2, '0'); };
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + two(s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + two(Math.floor(s % 3600 / 60)) + 'm';
  }

  function say(text, bad) {
    const node = $('job-msg');
    node.textContent = text;
    node.classList.toggle('bad', !!bad);
  }

  function render(j) {
    job = j;
    const p = progress(j);
    const bar = $('job-progress');
    bar.max = p.total > 0 ? p.total : 1;
    bar.value = p.total > 0 ? p.finished : 1;
    const frac = p.total > 0 ? p.finished / p.total : 1;
    $('progress-text').textContent = p.finished + ' / ' + p.total + ' · ' + (frac * 100).toFixed(1) + '%';
    Object.keys(j.counts).forEach(function (state) {
      const node = $('count-' + state);
      if (node) node.textContent = String(j.counts[state]);
    });
    $('job-rate').textContent = (j.items_per_second || 0).toFixed(2);
    $('job-eta').textContent = eta(j.eta_seconds);
    $('job-tokens').textContent = j.prompt_tokens + ' / ' + j.completion_tokens;
    $('job-cost').textContent = (j.cost_usd || 0).toFixed(6);
    $('job-max-tokens').textContent = j.options.max_tokens ? String(j.options.max_tokens) : '—';
    $('job-max-cost').textContent = j.options.max_cost_usd ? j.options.max_cost_usd.toFixed(6) : '—';
    const badge = $('job-state');
    badge.className = 'badge job-' + j.state;
    badge.textContent = LG.label('job.state', j.state);
    badge.dataset.state = j.state;
    renderRecovered(j.recovered);
    $('job-cancel').disabled = j.state !== 'running' && j.state !== 'paused';
    $('job-retry').disabled = !j.counts.failed || j.state === 'cancelled' || j.state === 'estimated';
    $('job-resume').disabled = j.state !== 'paused';
    $('resume-budget').hidden = j.state !== 'paused';
  }

  // renderRecovered shows the items taken back from a stopped worker and
  // why, in listinggen.Recoveries order, as the server renders them.
  function renderRecovered(r) {
    $('job-recovery').hidden = !r;
    if (!r) return;
    $('recovered-items').textContent = String(r.items);
    $('recovered-pending').textContent = String(r.pending);
    $('recovered-reasons').textContent = ['restart', 'lease_expired', 'rescued']
      .filter(function (k) { return (r.reasons || {})[k] > 0; })
      .map(function (k) { return LG.t('recovery.' + k) + ' ' + r.reasons[k]; })
      .join('; ');
  }

  function cell(text, cls) { return LG.el('td', cls ? { 'class': cls } : {}, text); }

  // refreshErrors shows the first page of failed and invalid items again
  // (only on the first page: a later page stays as the server made it).
  async function refreshErrors() {
    if (!d.refresh_errors) return;
    const r = await LG.api('GET', path + '/items?state=failed,invalid&limit=50');
    if (!r.ok) { say(LG.problemText(r.body), true); return; }
    const table = $('job-errors');
    const tbody = table.tBodies[0];
    tbody.textContent = '';
    r.body.items.forEach(function (it) {
      tbody.appendChild(LG.el('tr', {}, [
        cell(String(it.row)), cell(it.product.id || '', 'product-id'), cell(it.product.title || '', 'product-title'),
        cell((d.shops || {})[it.shop_id] || ''),
        LG.el('td', {}, LG.el('span', { 'class': 'badge state-' + it.state }, LG.label('item', it.state))),
        cell(it.error || '', 'error')
      ]));
    });
    table.hidden = r.body.items.length === 0;
    $('no-errors').hidden = r.body.items.length > 0;
    const next = $('errors-next');
    next.hidden = !r.body.next_cursor;
    if (r.body.next_cursor) next.href = '/ui/jobs/' + encodeURIComponent(d.id) + '?errors=' + encodeURIComponent(r.body.next_cursor);
  }

  async function update(j) {
    render(j);
    if (errorsOf(j) !== errorCount) {
      errorCount = errorsOf(j);
      await refreshErrors();
    }
    schedule();
  }

  // active: the job runs, or has items still queued or in progress (a job
  // whose budget paused it goes on pausing its queued items for a moment).
  function active(j) { return j.state === 'running' || (j.counts.queued || 0) + (j.counts.running || 0) > 0; }

  function schedule() {
    if (timer === null && active(job)) timer = setTimeout(poll, POLL_MS);
  }

  async function poll() {
    const r = await LG.api('GET', path);
    timer = null;
    if (r.ok) { await update(r.body); return; }
    say(LG.problemText(r.body), true);
    schedule();
  }

  // act cancels, retries or resumes; retry and resume answer the job and
  // how many items went back on the queue.
  async function act(action, okKey, body) {
    const r = await LG.api('POST', path + '/' + action, body);
    if (!r.ok) { say(LG.problemText(r.body), true); return; }
    const requeued = r.body.requeued;
    await update(r.body.job || r.body);
    say(LG.t(okKey) + (requeued === undefined ? '' : ': ' + requeued));
  }

  $('job-cancel').addEventListener('click', function () { act('cancel', 'job.cancelled'); });
  $('job-retry').addEventListener('click', function () { act('retry', 'job.requeued'); });
  // Resuming under the budget that paused the job would pause it again at
  // once, so the budget goes with it: raised, or 0 for none.
  $('job-resume').addEventListener('click', function () {
    act('resume', 'job.requeued', {
      max_tokens: Math.max(0, Math.floor(Number($('resume-max-tokens').value) || 0)),
      max_cost_usd: Math.max(0, Number($('resume-max-cost').value) || 0)
    });
  });

  render(job);
  schedule();
  // Tests (and people's scripts) wait for this before using the page.
  document.body.dataset.ready = '1';
})();
