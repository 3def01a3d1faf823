/**
 * graphql-js's "single root field" rule for subscriptions, without the way it throws.
 *
 * graphql-js 16's SingleFieldSubscriptionsRule collects a subscription's root fields the way
 * execution would, evaluating @skip and @include with no variables at all. Their `if` is a
 * `Boolean!`: a variable has no value then (`@include(if: $show)`, valid), a literal may be of
 * the wrong type (`@include(if: "")`) or null, and graphql-js's argument coercion throws instead
 * of reporting, out of validate(), whatever other rule would have reported the mistake. Every
 * transport answered such a document with a 500 (a POST, a GET, an event stream) or called it
 * a parse failure (WebSocket).
 *
 * The GraphQL specification has since settled the question (graphql-spec#860, in graphql-js 17):
 * a subscription's root selections may not use @skip or @include, because the root field must
 * be known whatever the variables. This rule reports each such directive, and otherwise
 * delegates to graphql-js's rule, which then has no directive to evaluate (it evaluates them
 * only on the selections walked here: the root fields, inline fragments and fragment spreads of
 * the root, and those of the fragments spread there).
 */
import {
  GraphQLError,
  Kind,
  SingleFieldSubscriptionsRule,
  type ASTVisitFn,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';

export const SubscriptionSingleRootField: ValidationRule = (context) => {
  const graphqlJs = graphqlJsVisit(SingleFieldSubscriptionsRule(context));
  let fragments: Map<string, FragmentDefinitionNode> | undefined;
  return {
    OperationDefinition(node, key, parent, path, ancestors) {
      if (node.operation !== 'subscription') return;
      fragments ??= fragmentsOf(context.getDocument());
      const directives = rootSkipOrInclude(node, fragments);
      for (const directive of directives)
        context.reportError(
          new GraphQLError(
            `A subscription's root selections may not use @${directive.name.value}: its one root field must be known whatever the variables.`,
            { nodes: directive },
          ),
        );
      if (directives.length === 0) graphqlJs(node, key, parent, path, ancestors);
    },
  };
};

/** graphql-js's rule's one visit (16.x: a plain `OperationDefinition` function). */
function graphqlJsVisit(visitor: object): ASTVisitFn<OperationDefinitionNode> {
  const visit: unknown = (visitor as { OperationDefinition?: unknown }).OperationDefinition;
  const enter: unknown =
    typeof visit === 'function' ? visit : (visit as { enter?: unknown } | undefined)?.enter;
  if (typeof enter !== 'function')
    throw new Error('graphql-js SingleFieldSubscriptionsRule: no OperationDefinition visit');
  return (...args) => (enter as ASTVisitFn<OperationDefinitionNode>).apply(visitor, args);
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  return fragments;
}

/**
 * The @skip and @include directives on the selections graphql-js's rule would evaluate: each
 * fragment once (linear in the document; unknown fragments and cycles are other rules' errors).
 */
function rootSkipOrInclude(
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): DirectiveNode[] {
  const found: DirectiveNode[] = [];
  const visited = new Set<string>();
  const pending = [operation.selectionSet];
  for (let set = pending.pop(); set; set = pending.pop()) {
    for (const selection of set.selections) {
      for (const directive of selection.directives ?? [])
        if (directive.name.value === 'skip' || directive.name.value === 'include')
          found.push(directive);
      if (selection.kind === Kind.INLINE_FRAGMENT) pending.push(selection.selectionSet);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !visited.has(name)) {
          visited.add(name);
          pending.push(fragment.selectionSet);
        }
      }
    }
  }
  return found;
}
