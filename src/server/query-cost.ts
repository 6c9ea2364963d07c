import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  OperationTypeNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
  type VariableDefinitionNode,
  visit,
} from 'graphql';
import { fragmentsOf } from './document-shape';

/**
 * The cost of an operation: 1 per field, and a list field with a size argument costs 1 plus
 * its children times that size (`first`, `points` / 100, or the number of `deviceIds`), so
 * `devices(first: 1000) { latest }` costs what it makes the server do. Fragments count as
 * many times as they are spread. Under an abstract type, the costliest possible type counts.
 *
 * Computed in time linear in the document's size: each fragment's cost is computed once per
 * request and reused at every spread (graphql-query-complexity, used before, walked a
 * fragment again at every spread and silently gave up past 10,000 selections).
 */
export interface CostResult {
  readonly cost: number;
  /** Selections evaluated: each written selection once, whatever the fragments do. */
  readonly evaluated: number;
}

/** Thrown when a variable the cost reads does not coerce: execution reports it precisely, cost has nothing to add. */
export class CostVariablesError extends Error {}

/** The arguments `listSizeOf` reads: a field's cost depends on no other argument. */
const LIST_SIZE_ARGUMENTS: ReadonlySet<string> = new Set(['first', 'deviceIds', 'points']);

/**
 * How many items a field's arguments ask for: `first`, the number of `deviceIds`, or a chart's
 * `points` (a hundred points cost one item); undefined for a field that returns no list.
 */
export function listSizeOf(args: Record<string, unknown>): number | undefined {
  if (typeof args['first'] === 'number') return args['first'];
  if (Array.isArray(args['deviceIds'])) return args['deviceIds'].length;
  if (typeof args['points'] === 'number') return Math.ceil(args['points'] / 100);
  return undefined;
}

export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
  /** Sizes above it count as it: larger pages are refused by the resolver with a more precise message. */
  maxListSize: number,
): CostResult {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION && (operationName === undefined || definition.name?.value === operationName),
  );
  // An operation whose cost reads no variable costs the same on every run: it is costed once
  // per parsed operation (Apollo hands back the same node for a known text). The ingest
  // mutations are such operations, sent again and again. Keyed by the operation's node, never
  // by the name a client sent, which may name nothing and be anything.
  const [only, ...others] = operations;
  if (only === undefined || others.length > 0 || variablesCostReads(document, only).length > 0) {
    return costOf(schema, document, operations, variables, maxListSize);
  }
  let ofSchema = constantCosts.get(schema);
  if (!ofSchema) constantCosts.set(schema, (ofSchema = new WeakMap()));
  let ofOperation = ofSchema.get(only);
  if (!ofOperation) ofSchema.set(only, (ofOperation = new Map<number, CostResult>()));
  let result = ofOperation.get(maxListSize);
  if (!result) ofOperation.set(maxListSize, (result = costOf(schema, document, operations, variables, maxListSize)));
  return result;
}
/** Costs of operations that read no variable: by schema, operation node and list-size cap. */
const constantCosts = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, Map<number, CostResult>>>();

function costOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operations: readonly OperationDefinitionNode[],
  variables: Record<string, unknown> | undefined,
  maxListSize: number,
): CostResult {
  const fragments = fragmentsOf(document);
  let evaluated = 0;
  let cost = 0;
  for (const operation of operations) {
    // Only the variables the cost reads are coerced: coercing the 500 readings of an
    // ingestReadings call cost as much again as execution's own coercion of them.
    const coerced = getVariableValues(schema, variablesCostReads(document, operation), variables ?? {});
    if (coerced.errors) throw new CostVariablesError(coerced.errors[0]!.message);
    const values = coerced.coerced;
    // undefined while a fragment is being costed: a spread of it then is a cycle (counts 0).
    const fragmentCosts = new Map<string, number | undefined>();

    const included = (selection: SelectionNode): boolean => {
      if (!selection.directives?.length) return true;
      try {
        return (
          getDirectiveValues(GraphQLSkipDirective, selection, values)?.['if'] !== true &&
          getDirectiveValues(GraphQLIncludeDirective, selection, values)?.['if'] !== false
        );
      } catch (error) {
        throw new CostVariablesError((error as Error).message);
      }
    };

    const fieldDefinition = (type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined => {
      if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
      if (type === schema.getQueryType() && name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (type === schema.getQueryType() && name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
      return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
    };

    const fieldCost = (args: Record<string, unknown>, childCost: number): number => {
      const size = listSizeOf(args);
      return size === undefined ? 1 + childCost : 1 + Math.min(maxListSize, Math.max(1, size)) * Math.max(1, childCost);
    };

    const possibleTypes = (type: GraphQLCompositeType): readonly string[] =>
      isAbstractType(type) ? schema.getPossibleTypes(type).map((t) => t.name) : [type.name];

    const fragmentCost = (name: string): number => {
      if (fragmentCosts.has(name)) return fragmentCosts.get(name) ?? 0;
      const fragment = fragments.get(name);
      const type = fragment && schema.getType(fragment.typeCondition.name.value);
      if (!fragment || !type || !isCompositeType(type)) return 0; // validation refuses it
      fragmentCosts.set(name, undefined);
      const result = selectionSetCost(fragment.selectionSet, type);
      fragmentCosts.set(name, result);
      return result;
    };

    // Recursion is bounded: documents reach this only after the nesting limit (document-limits.ts).
    const selectionSetCost = (selectionSet: SelectionSetNode, type: GraphQLCompositeType): number => {
      const byType = new Map<string, number>();
      const add = (amount: number, types: readonly string[]) => {
        for (const name of types) byType.set(name, (byType.get(name) ?? 0) + amount);
      };
      const own = possibleTypes(type);
      for (const selection of selectionSet.selections) {
        evaluated++;
        if (!included(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          const field = fieldDefinition(type, selection.name.value);
          if (!field) continue; // validation refuses it
          const named = getNamedType(field.type);
          const childCost = selection.selectionSet && isCompositeType(named) ? selectionSetCost(selection.selectionSet, named) : 0;
          let args: Record<string, unknown>;
          try {
            args = getArgumentValues(listSizeArguments(field), selection, values);
          } catch (error) {
            throw new CostVariablesError((error as Error).message);
          }
          add(fieldCost(args, childCost), own);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
          if (!condition || !isCompositeType(condition)) continue;
          add(selectionSetCost(selection.selectionSet, condition), possibleTypes(condition));
        } else {
          const fragment = fragments.get(selection.name.value);
          const condition = fragment && schema.getType(fragment.typeCondition.name.value);
          if (!condition || !isCompositeType(condition)) continue;
          add(fragmentCost(selection.name.value), possibleTypes(condition));
        }
      }
      return Math.max(0, ...byType.values());
    };

    const root =
      operation.operation === OperationTypeNode.QUERY
        ? schema.getQueryType()
        : operation.operation === OperationTypeNode.MUTATION
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    if (root) cost += selectionSetCost(operation.selectionSet, root);
  }
  return { cost, evaluated };
}

/**
 * The variable definitions of an operation whose values the cost can depend on: those used
 * in a list-size argument or in a directive (@skip, @include) anywhere in the document. Found
 * once per parsed operation (Apollo reuses the node of a known document; the WebSocket path
 * parses each subscription's document afresh).
 */
function variablesCostReads(document: DocumentNode, operation: OperationDefinitionNode): readonly VariableDefinitionNode[] {
  const cached = costVariables.get(operation);
  if (cached) return cached;
  const names = new Set<string>();
  const collect = (value: ValueNode) => {
    visit(value, {
      Variable(variable) {
        names.add(variable.name.value);
      },
    });
  };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION && definition !== operation) continue;
    visit(definition, {
      Field(field) {
        for (const argument of field.arguments ?? []) if (LIST_SIZE_ARGUMENTS.has(argument.name.value)) collect(argument.value);
      },
      Directive(directive) {
        for (const argument of directive.arguments ?? []) collect(argument.value);
      },
    });
  }
  const read = (operation.variableDefinitions ?? []).filter((definition) => names.has(definition.variable.name.value));
  costVariables.set(operation, read);
  return read;
}
const costVariables = new WeakMap<OperationDefinitionNode, readonly VariableDefinitionNode[]>();

/** The field with only its list-size arguments, so its other arguments are neither coerced nor needed. */
function listSizeArguments(field: GraphQLField<unknown, unknown>): GraphQLField<unknown, unknown> {
  let narrowed = narrowedFields.get(field);
  if (!narrowed) {
    narrowed = { ...field, args: field.args.filter((argument) => LIST_SIZE_ARGUMENTS.has(argument.name)) };
    narrowedFields.set(field, narrowed);
  }
  return narrowed;
}
const narrowedFields = new WeakMap<GraphQLField<unknown, unknown>, GraphQLField<unknown, unknown>>();

/**
 * Whether every variable of the operation(s) coerces. The cost reads only some of them, so a
 * refusal first checks the others: a request whose variables are wrong gets execution's
 * precise error about them, whatever it would cost.
 */
export function variablesCoerce(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
): boolean {
  return document.definitions.every(
    (definition) =>
      definition.kind !== Kind.OPERATION_DEFINITION ||
      (operationName !== undefined && definition.name?.value !== operationName) ||
      getVariableValues(schema, definition.variableDefinitions ?? [], variables ?? {}).errors === undefined,
  );
}
