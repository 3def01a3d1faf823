// The example dashboard: how a browser app consumes this gateway. One GraphQL POST per view;
// money is shown as the exact Decimal strings the API returns (no float arithmetic on money).
/* global Chart */
(function () {
  'use strict';

  const QUERY = `query Dashboard($channel: ID!, $from: Date!, $to: Date!, $startTime: DateTime!, $endTime: DateTime!) {
  channel(id: $channel) {
    incomeSummary(startDate: $from, endDate: $to) { count total { amount } byPayType { payType label count amount { amount } } byDay { date count amount { amount fen } } asOf }
    redPackSummary(startTime: $startTime, endTime: $endTime) { count totalAmount { amount } totalReceived { amount } receiverCount byType { type label count amount { amount } } asOf }
    redPacks(first: 10, startTime: $startTime, endTime: $endTime) { nodes { id createdAt typeLabel sender { nickname } amount { amount } receiveCount } }
  }
}`;
  const KEY_STORAGE = 'polyv-graphql-api-key';
  const config = JSON.parse(document.getElementById('dashboard-config').textContent);
  const $ = (id) => document.getElementById(id);
  const filters = $('filters');
  const keyForm = $('api-key');
  const yuan = (money) => `¥${money.amount}`;
  const cstTime = (iso) => new Date(iso).toLocaleString('sv-SE', { timeZone: 'Asia/Shanghai' });

  /** Sends the query; resolves to { data, errors } (errors from GraphQL or from HTTP). */
  async function fetchDashboard({ channel, from, to }) {
    const variables = {
      channel,
      from,
      to,
      // The red packs of the same China Standard Time days as the income.
      startTime: `${from}T00:00:00+08:00`,
      endTime: `${to}T23:59:59.999+08:00`,
    };
    const headers = { 'content-type': 'application/json' };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.authorization = `Bearer ${key}`;
    const response = await fetch(config.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: QUERY, variables, operationName: 'Dashboard' }),
    });
    keyForm.hidden = response.status !== 401;
    const body = await response.json().catch(() => ({}));
    if (!body.data && !body.errors) {
      return { errors: [{ message: `HTTP ${response.status} ${response.statusText}` }] };
    }
    return body;
  }

  function showErrors(errors) {
    const box = $('errors');
    box.replaceChildren(
      ...errors.map((error) => {
        const line = document.createElement('p');
        const code = error.extensions && error.extensions.code;
        line.textContent = code ? `${code}: ${error.message}` : error.message;
        return line;
      }),
    );
    box.hidden = errors.length === 0;
  }

  /** Fills a table body: one row per item, `cells` gives the texts of a row. */
  function fillTable(id, testId, items, cells) {
    $(id)
      .querySelector('tbody')
      .replaceChildren(
        ...items.map((item) => {
          const row = document.createElement('tr');
          row.dataset.testid = testId;
          for (const text of cells(item)) {
            const cell = document.createElement('td');
            cell.textContent = text;
            row.append(cell);
          }
          return row;
        }),
      );
  }

  const setText = (testId, text) => {
    document.querySelector(`[data-testid="${testId}"]`).textContent = text;
  };

  function drawChart(days) {
    const canvas = $('income-chart');
    const chart = Chart.getChart(canvas);
    if (chart) chart.destroy();
    new Chart(canvas, {
      type: 'bar',
      data: {
        labels: days.map((day) => day.date.slice(5)),
        // Bar heights need numbers: parsed from the Decimal for drawing only, never added up.
        datasets: [{ label: 'Income (¥)', data: days.map((day) => Number(day.amount.amount)) }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { ticks: { callback: (value) => `¥${value}` } } },
        plugins: {
          legend: { display: false },
          // The tooltip shows the exact amount, as the API wrote it.
          tooltip: {
            callbacks: {
              label: (item) =>
                `${yuan(days[item.dataIndex].amount)}, ${days[item.dataIndex].count} payments`,
            },
          },
        },
      },
    });
  }

  function render(channel) {
    const { incomeSummary: income, redPackSummary: packs, redPacks } = channel;
    setText('income-total', yuan(income.total));
    setText('income-count', String(income.count));
    setText('redpack-count', String(packs.count));
    setText('redpack-total', yuan(packs.totalAmount));
    setText('redpack-received', yuan(packs.totalReceived));
    setText('redpack-receivers', String(packs.receiverCount));
    setText('as-of', `${cstTime(income.asOf)} (income), ${cstTime(packs.asOf)} (red packs)`);
    drawChart(income.byDay);
    fillTable('paytypes', 'paytype-row', income.byPayType, (row) => [
      row.label,
      String(row.count),
      yuan(row.amount),
    ]);
    fillTable('redpacktypes', 'redpacktype-row', packs.byType, (row) => [
      row.label,
      String(row.count),
      yuan(row.amount),
    ]);
    fillTable('redpacks', 'redpack-row', redPacks.nodes, (pack) => [
      cstTime(pack.createdAt),
      pack.typeLabel,
      pack.sender.nickname,
      yuan(pack.amount),
      String(pack.receiveCount),
    ]);
  }

  async function refresh() {
    const status = $('status');
    status.textContent = 'Loading…';
    document.body.dataset.state = 'loading';
    try {
      const { data, errors = [] } = await fetchDashboard(Object.fromEntries(new FormData(filters)));
      showErrors(errors);
      const channel = data && data.channel;
      if (channel) render(channel);
      $('dashboard').hidden = !channel;
      status.textContent = channel ? '' : 'No data.';
      document.body.dataset.state = errors.length > 0 ? 'error' : 'ready';
    } catch (error) {
      showErrors([{ message: `Could not reach the gateway: ${error.message}` }]);
      status.textContent = '';
      document.body.dataset.state = 'error';
    }
  }

  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    refresh();
  });
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, keyForm.elements.key.value.trim());
    keyForm.reset();
    refresh();
  });

  const example = config.exampleVariables;
  filters.elements.channel.value = example.channel;
  filters.elements.from.value = example.from;
  filters.elements.to.value = example.to;
  refresh();
})();
