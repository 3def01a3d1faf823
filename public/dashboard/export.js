// "Download CSV": an export (GET /export/…, docs/exports.md) of the channel and days in the
// form, the way a browser app should take one: fetched with the tab's API key in a header (a
// plain link could not carry it), its body read as it streams with the rows counted as they
// arrive, then saved through a Blob link under the name the gateway gave it. A transfer the
// gateway cut part way (Polyv failed mid-export) is reported, and nothing is saved.
(function () {
  'use strict';

  // The same key dashboard.js keeps for the tab (sessionStorage only).
  const KEY_STORAGE = 'polyv-graphql-api-key';
  const WHAT = { 'red-packs': 'Red packs', 'red-pack-receives': 'Receives', income: 'Income' };

  const $ = (id) => document.getElementById(id);
  const filters = $('filters');
  const status = $('export-status');
  const buttons = [...document.querySelectorAll('[data-export]')];
  const count = (number) => String(number).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

  /** The export's address for the form's channel and days (CST, both included). */
  function exportUrl(list) {
    const { channel, from, to } = Object.fromEntries(new FormData(filters));
    const query =
      list === 'income'
        ? { startDate: from, endDate: to, channelId: channel }
        : { channelId: channel, from, to };
    return `/export/${list}.csv?${new URLSearchParams(query)}`;
  }

  /**
   * Counts CSV records in text as it streams: a line feed ends a record unless it is inside a
   * quoted cell (RFC 4180; a doubled quote toggles twice). The header row is not counted.
   */
  function recordCounter() {
    let quoted = false;
    let lineEnds = 0;
    const special = /["\n]/g;
    return (text) => {
      special.lastIndex = 0;
      for (let match = special.exec(text); match; match = special.exec(text)) {
        if (match[0] === '"') quoted = !quoted;
        else if (!quoted) lineEnds++;
      }
      return Math.max(0, lineEnds - 1);
    };
  }

  /** The file name the gateway gave (Content-Disposition), else one made of the list's name. */
  function filenameOf(response, list) {
    const given = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') || '');
    return given ? given[1] : `${list}.csv`;
  }

  function say(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  async function download(list) {
    const what = WHAT[list];
    const { from, to } = Object.fromEntries(new FormData(filters));
    if (from > to) return say('“From” must not be after “To”.', 'error');
    const key = sessionStorage.getItem(KEY_STORAGE);
    const headers = { 'apollo-require-preflight': 'true' };
    if (key) headers.authorization = `Bearer ${key}`;
    for (const button of buttons) button.disabled = true;
    say(`${what}: starting…`, 'running');
    let rows = 0;
    try {
      const response = await fetch(exportUrl(list), { headers });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        const error = (body.errors && body.errors[0]) || {};
        const code = error.extensions && error.extensions.code;
        if (response.status === 401) $('api-key').hidden = false;
        return say(
          `${what}: ${code ? `${code}: ` : ''}${error.message || `HTTP ${response.status}`}`,
          'error',
        );
      }
      const total = Number(response.headers.get('x-export-records'));
      const counter = recordCounter();
      const decoder = new TextDecoder();
      const parts = [];
      const reader = response.body.getReader();
      for (;;) {
        // Rejects when the gateway cut the transfer: no terminating chunk ever came.
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        rows = counter(decoder.decode(value, { stream: true }));
        say(`${what}: ${count(rows)} rows so far…`, 'running');
      }
      const name = filenameOf(response, list);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob(parts, { type: 'text/csv;charset=utf-8' }));
      link.download = name;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      const records = list === 'red-pack-receives' ? ` (of ${count(total)} red packs)` : '';
      say(`${what}: saved ${name}, ${count(rows)} rows${records}.`, 'done');
    } catch (error) {
      say(
        `${what}: the export was cut off after ${count(rows)} rows (${error.message}); nothing was saved. Try again.`,
        'error',
      );
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  }

  for (const button of buttons)
    button.addEventListener('click', () => download(button.dataset.export));
})();
