import { GraphQLError, Kind, type ASTNode, type FragmentDefinitionNode, type ValidationContext, type ValidationRule } from 'graphql';

/**
 * Rejects operations nested deeper than `maxDepth` fields (fragments followed), before any
 * resolver runs. Guards against deeply nested documents built to exhaust the server.
 */
export function depthLimit(maxDepth: number): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (node: ASTNode, depth: number, visiting: Set<string>): number => {
      if (depth > maxDepth) return depth;
      switch (node.kind) {
        case Kind.OPERATION_DEFINITION:
        case Kind.FRAGMENT_DEFINITION:
        case Kind.INLINE_FRAGMENT:
          return Math.max(depth, ...node.selectionSet.selections.map((s) => depthOf(s, depth, visiting)));
        case Kind.FIELD:
          if (!node.selectionSet) return depth + 1;
          return Math.max(depth + 1, ...node.selectionSet.selections.map((s) => depthOf(s, depth + 1, visiting)));
        case Kind.FRAGMENT_SPREAD: {
          const name = node.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) return depth; // unknown or cyclic: other rules report it
          const result = depthOf(fragment, depth, new Set(visiting).add(name));
          return result;
        }
        default:
          return depth;
      }
    };
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation, 0, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`the operation is nested deeper than the limit of ${maxDepth} fields`, {
              nodes: [operation],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: maxDepth },
            }),
          );
        }
      },
    };
  };
}
