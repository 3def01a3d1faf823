// The playground page's only script of its own: GraphiQL (served from npm, no CDN) pointed at
// this gateway, opened on an example dashboard query with the docs explorer showing.
/* global React, ReactDOM, GraphiQL */
(function () {
  const config = JSON.parse(document.getElementById('playground-config').textContent);

  // On the built-in emulator, the demo ids a first query needs.
  const demoLines = (config.demo || [])
    .map(
      (channel) =>
        `#   ${channel.channelId} ${channel.name}: sessions ${channel.sessionIds.join(', ')}\n`,
    )
    .join('');
  const demo = demoLines
    ? `# Demo data (built-in Polyv emulator). Channels and their live sessions:\n${demoLines}`
    : '';
  const exampleQuery = `# polyv-graphql: Polyv red packs and income as one typed GraphQL API.
# Press ▶ (or Ctrl-Enter) to run; the Docs panel describes every type and field.
${demo}query Dashboard($channel: ID!, $from: Date!, $to: Date!) {
  channel(id: $channel) {
    id
    redPacks(first: 5) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        type
        typeLabel
        status
        createdAt
        sender { nickname }
        amount { amount currency }
        balance { amount }
        receives { user { nickname } amount { amount } receivedAt }
      }
    }
    incomeRecords(startDate: $from, endDate: $to, first: 5) {
      totalCount
      nodes { id payType payTypeLabel amount { amount } payer { nickname } paidAt }
    }
  }
}
`;

  // A shared link (/graphql?query=…&variables=…&operationName=…) opens on what it carries.
  const shared = new URLSearchParams(window.location.search);
  const sharedQuery = shared.get('query');
  const fetcher = GraphiQL.createFetcher({ url: config.endpoint });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery: exampleQuery,
      ...(sharedQuery === null
        ? { variables: JSON.stringify(config.exampleVariables, null, 2) }
        : {
            query: sharedQuery,
            variables: shared.get('variables') ?? '',
            operationName: shared.get('operationName') ?? undefined,
          }),
      visiblePlugin: 'Documentation Explorer',
      defaultEditorToolsVisibility: 'variables',
      shouldPersistHeaders: false,
    }),
  );
})();
