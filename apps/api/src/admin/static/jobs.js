// The job-status page's script: reads the admin JSON routes (same origin; the browser resends the Basic
// credentials) and writes every value with textContent, never as HTML: client ids and provider reasons
// come from outside.
'use strict';
(function () {
  var POLL_MS = 2000;
  var PAGE = 100;
  var selected = null; // job id shown below the list
  var selectedSig = ''; // its state and totals when its results were loaded
  var cursor = null; // next page of its results
  var shown = 0;

  function $(id) {
    return document.getElementById(id);
  }
  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }
  function time(iso) {
    return iso ? new Date(iso).toLocaleString() : '';
  }
  function stateBadge(td, state) {
    var span = document.createElement('span');
    span.className = 'state ' + state;
    span.textContent = state;
    td.appendChild(span);
  }
  function progress(row, p, platform) {
    var td = cell(row, '', 'progress-cell');
    td.dataset.platform = platform;
    var wrap = document.createElement('span');
    wrap.className = 'progress';
    var meter = document.createElement('meter');
    meter.min = 0;
    meter.max = Math.max(p.chunks, 1);
    meter.value = p.chunksDone;
    var text = document.createElement('span');
    text.className = 'chunks';
    text.textContent = p.chunksDone + '/' + p.chunks;
    wrap.appendChild(meter);
    wrap.appendChild(text);
    td.appendChild(wrap);
  }
  // When a job goes out: its sendAt, and for a localTime job the time of day in each client's zone.
  function plan(job) {
    var at = job.sendAt ? time(job.sendAt) : '';
    if (job.localTime) return job.localTime + ' local time' + (at ? ' from ' + at : '');
    return at;
  }
  function signature(job) {
    return job.state + ' ' + JSON.stringify(job.totals);
  }

  // The app whose jobs are shown: ?app= of the page's own address (default: the app default).
  var app = new URLSearchParams(location.search).get('app') || 'default';
  async function getJson(url) {
    url += (url.indexOf('?') < 0 ? '?' : '&') + 'app=' + encodeURIComponent(app);
    var res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    var body = await res.json();
    if (body.RC !== 0) throw new Error(body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + res.status);
    return body.result;
  }

  function renderJobs(jobs) {
    var tbody = $('jobs').querySelector('tbody');
    var rows = document.createDocumentFragment();
    jobs.forEach(function (job) {
      var tr = document.createElement('tr');
      tr.dataset.jobId = job.jobId;
      if (job.jobId === selected) tr.className = 'selected';
      var id = cell(tr, job.jobId.slice(0, 8), 'mono job-id');
      id.title = job.jobId;
      cell(tr, time(job.createdAt), 'created');
      cell(tr, job.priority, 'priority lane-' + job.priority);
      stateBadge(cell(tr, '', 'state-cell'), job.state);
      cell(tr, plan(job), 'plan');
      ['clients', 'tokens', 'sent', 'failed', 'invalid', 'expired', 'canceled'].forEach(function (name) {
        cell(tr, job.totals[name], 'n total-' + name);
      });
      progress(tr, job.platforms.ios, 'ios');
      progress(tr, job.platforms.android, 'android');
      progress(tr, job.platforms.web, 'web');
      tr.addEventListener('click', function () {
        select(job.jobId);
      });
      rows.appendChild(tr);
    });
    tbody.replaceChildren(rows);
    $('empty').hidden = jobs.length > 0;
  }

  function renderLanes(lanes) {
    var rows = document.createDocumentFragment();
    lanes.forEach(function (l) {
      var tr = document.createElement('tr');
      tr.dataset.queue = l.queue;
      cell(tr, l.queue, 'mono');
      cell(tr, l.platform);
      cell(tr, l.lane, 'lane-' + l.lane);
      ['waiting', 'active', 'delayed', 'failed'].forEach(function (name) {
        cell(tr, l[name], 'n lane-' + name);
      });
      rows.appendChild(tr);
    });
    $('lanes').querySelector('tbody').replaceChildren(rows);
  }

  function renderDetail(job) {
    $('detail').hidden = false;
    $('detail-id').textContent = job.jobId;
    var state = $('detail-state');
    state.className = 'state ' + job.state;
    state.textContent = job.state;
    $('detail-times').textContent =
      (job.priority ? job.priority + ' priority · ' : '') +
      'created ' +
      time(job.createdAt) +
      (job.finishedAt ? ' · finished ' + time(job.finishedAt) : '') +
      ' · ' +
      job.totals.tokens +
      ' tokens: ' +
      job.totals.sent +
      ' sent, ' +
      job.totals.failed +
      ' failed, ' +
      job.totals.invalid +
      ' invalid, ' +
      job.totals.expired +
      ' expired, ' +
      job.totals.canceled +
      ' canceled';
    var parts = [];
    if (job.sendAt || job.localTime) parts.push('goes out ' + plan(job));
    if (job.ratePerMinute) parts.push('at most ' + job.ratePerMinute + ' a minute');
    if (job.canceledAt) parts.push('canceled ' + time(job.canceledAt));
    $('detail-plan').textContent = parts.join(' · ');
    $('cancel').hidden = job.state === 'completed' || job.state === 'canceled';
  }

  // A custom header: a cross-site page cannot send it without a CORS preflight, which this server never grants.
  async function cancelSelected() {
    if (!selected || !confirm('Cancel job ' + selected + '? Nothing more of it will be sent.')) return;
    var res = await fetch('api/jobs/' + encodeURIComponent(selected) + '/cancel?app=' + encodeURIComponent(app), {
      method: 'POST',
      headers: { Accept: 'application/json', 'X-Push-Admin-Action': 'cancel' },
      cache: 'no-store',
    });
    var body = await res.json();
    if (body.RC !== 0) throw new Error(body.error.code + ': ' + body.error.message);
    await refresh();
  }

  async function loadResults(reset) {
    if (!selected) return;
    var jobId = selected;
    var params = new URLSearchParams({ limit: String(PAGE) });
    if ($('filter').value) params.set('status', $('filter').value);
    if (!reset && cursor) params.set('cursor', cursor);
    var page = await getJson('api/jobs/' + encodeURIComponent(jobId) + '/results?' + params);
    if (jobId !== selected) return;
    var tbody = $('results').querySelector('tbody');
    if (reset) {
      tbody.replaceChildren();
      shown = 0;
    }
    page.items.forEach(function (item) {
      var tr = document.createElement('tr');
      cell(tr, item.client, 'client');
      cell(tr, item.platform, 'platform');
      cell(tr, item.token, 'token mono').title = item.token;
      cell(tr, item.status, 'result-status status-' + item.status);
      cell(tr, item.reason, 'reason');
      cell(tr, time(item.at), 'at');
      tbody.appendChild(tr);
    });
    shown += page.items.length;
    cursor = page.nextCursor;
    $('more').hidden = !cursor;
    $('results-count').textContent = shown + (cursor ? '+' : '') + ' result' + (shown === 1 ? '' : 's');
  }

  function select(jobId) {
    selected = jobId;
    selectedSig = '';
    cursor = null;
    if (location.hash !== '#' + jobId) history.replaceState(null, '', '#' + jobId);
    refresh();
  }

  async function refresh() {
    try {
      var both = await Promise.all([getJson('api/jobs?limit=50'), getJson('api/lanes')]);
      var result = both[0];
      renderLanes(both[1].lanes);
      renderJobs(result.jobs);
      var job = result.jobs.find(function (j) {
        return j.jobId === selected;
      });
      // A job older than the list (a shared link): read it on its own.
      if (!job && selected) job = await getJson('api/jobs/' + encodeURIComponent(selected));
      if (job) {
        renderDetail(job);
        // New results arrived: reload the first page, unless the reader has paged further.
        if (signature(job) !== selectedSig && shown <= PAGE) {
          selectedSig = signature(job);
          await loadResults(true);
        }
      }
      var status = $('status');
      status.className = '';
      status.textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (error) {
      $('status').className = 'error';
      $('status').textContent = 'cannot refresh: ' + error.message;
    }
  }

  $('filter').addEventListener('change', function () {
    cursor = null;
    loadResults(true).catch(showError);
  });
  $('more').addEventListener('click', function () {
    loadResults(false).catch(showError);
  });
  $('cancel').addEventListener('click', function () {
    cancelSelected().catch(showError);
  });
  function showError(error) {
    $('status').className = 'error';
    $('status').textContent = error.message;
  }

  getJson('api/apps')
    .then(function (result) {
      var select = $('app');
      select.replaceChildren();
      result.apps.forEach(function (id) {
        var option = document.createElement('option');
        option.textContent = id;
        option.selected = id === app;
        select.appendChild(option);
      });
    })
    .catch(showError);
  $('app').addEventListener('change', function () {
    location.search = '?app=' + encodeURIComponent($('app').value);
  });

  if (location.hash.length > 1) selected = decodeURIComponent(location.hash.slice(1));
  refresh();
  setInterval(refresh, POLL_MS);
})();
