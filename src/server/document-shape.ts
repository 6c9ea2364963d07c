import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * Measures of a parsed document that its limits are checked against, taken in time linear in
 * the document's size whatever its fragments do: each fragment is measured once and its
 * measure reused at every spread (a fragment spreading the next one twice, 40 deep, would
 * otherwise be walked 2^40 times). Nothing here assumes the document is valid: unknown
 * fragments count as empty, and a cycle is reported instead of followed.
 */
export interface DocumentShape {
  /**
   * Deepest chain of fields of any operation, fragments followed (a top-level leaf is 1). An
   * `ofType` adds no depth: it is introspection's chain of type wrappers, one object per level
   * and as long as the wrapping it reads, and every standard introspection query asks for nine
   * of them (graphql-js's getIntrospectionQuery: depth 15, 6 without them), which a depth
   * limit of 12 refused, leaving GraphiQL and every schema-reading tool without a schema. The
   * lists of introspection (fields of a type's fields' types...) are bounded by graphql-js's
   * own MaxIntrospectionDepthRule, and the chain still counts towards `nesting`.
   */
  readonly depth: number;
  /**
   * Deepest chain of selection sets of any operation: those of fields, inline fragments and
   * spread fragments. Bounds the recursion of graphql-js's rules and of execution, which a
   * long chain of fragments spreading each other would otherwise exhaust without any depth.
   */
  readonly nesting: number;
  /**
   * Most selections (fields, inline fragments, spreads) of one operation once every spread
   * is replaced by its fragment, as many times as it is written.
   */
  readonly selections: number;
  /** Aliased fields written in the document. */
  readonly aliases: number;
  /** A fragment that spreads itself, directly or through others; undefined when none does. */
  readonly cycle: string | undefined;
  /** Selections visited to measure it: at most twice the number written. */
  readonly visited: number;
}

/** What a selection set amounts to once its spreads are expanded. */
interface Extent {
  readonly depth: number;
  readonly nesting: number;
  readonly selections: number;
}

const EMPTY: Extent = { depth: 0, nesting: 0, selections: 0 };

/** `__Type.ofType`: counted in nesting, not in depth (see DocumentShape.depth). */
const TYPE_WRAPPER_FIELD = 'ofType';

/** The fragments of a document by name (the first of a duplicated name, which validation refuses). */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

export function measureDocument(document: DocumentNode): DocumentShape {
  let visited = 0;
  const fragments = fragmentsOf(document);

  // Pass 1: aliases, and the fragments each fragment spreads. Explicit stacks throughout:
  // a document thousands of levels deep must not exhaust the call stack.
  let aliases = 0;
  const spreads = new Map<string, Set<string>>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const own = definition.kind === Kind.FRAGMENT_DEFINITION && fragments.get(definition.name.value) === definition ? new Set<string>() : undefined;
    if (own) spreads.set((definition as FragmentDefinitionNode).name.value, own);
    const pending = [definition.selectionSet];
    for (let set = pending.pop(); set; set = pending.pop()) {
      for (const selection of set.selections) {
        visited++;
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          own?.add(selection.name.value);
        } else {
          if (selection.kind === Kind.FIELD && selection.alias) aliases++;
          if (selection.selectionSet) pending.push(selection.selectionSet);
        }
      }
    }
  }

  // Fragments in post-order (those spread before those spreading them).
  const order: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  let cycle: string | undefined;
  for (const root of spreads.keys()) {
    if (state.has(root)) continue;
    const stack: [string, Iterator<string>][] = [[root, spreads.get(root)!.values()]];
    state.set(root, 'open');
    while (stack.length > 0) {
      const [name, children] = stack[stack.length - 1]!;
      const next = children.next();
      if (next.done) {
        stack.pop();
        state.set(name, 'done');
        order.push(name);
        continue;
      }
      const child = next.value;
      const seen = state.get(child);
      if (seen === 'open') cycle ??= child;
      if (seen !== undefined || !spreads.has(child)) continue;
      state.set(child, 'open');
      stack.push([child, spreads.get(child)!.values()]);
    }
  }

  // Pass 2: each fragment once, children first, then each operation. A spread of an unknown
  // fragment, or one closing a cycle, counts as empty.
  const extents = new Map<string, Extent>();
  const extentOf = (root: SelectionSetNode): Extent => {
    interface Open {
      readonly set: SelectionSetNode;
      readonly addsDepth: boolean;
      next: number;
      depth: number;
      nesting: number;
      selections: number;
    }
    const fold = (into: Open, extent: Extent, fieldLevel: number) => {
      into.depth = Math.max(into.depth, extent.depth + fieldLevel);
      into.nesting = Math.max(into.nesting, extent.nesting);
      into.selections += 1 + extent.selections;
    };
    const stack: Open[] = [{ set: root, addsDepth: false, next: 0, depth: 0, nesting: 0, selections: 0 }];
    for (;;) {
      const top = stack[stack.length - 1]!;
      const selection = top.set.selections[top.next++];
      if (selection) {
        visited++;
        if (selection.kind === Kind.FRAGMENT_SPREAD) fold(top, extents.get(selection.name.value) ?? EMPTY, 0);
        else if (selection.selectionSet) {
          const addsDepth = selection.kind === Kind.FIELD && selection.name.value !== TYPE_WRAPPER_FIELD;
          stack.push({ set: selection.selectionSet, addsDepth, next: 0, depth: 0, nesting: 0, selections: 0 });
        } else fold(top, EMPTY, 1); // a leaf field
        continue;
      }
      stack.pop();
      const extent: Extent = { depth: top.depth, nesting: top.nesting + 1, selections: top.selections };
      const parent = stack[stack.length - 1];
      if (!parent) return extent;
      fold(parent, extent, top.addsDepth ? 1 : 0);
    }
  };
  for (const name of order) extents.set(name, extentOf(fragments.get(name)!.selectionSet));
  let shape = EMPTY;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const extent = extentOf(definition.selectionSet);
    shape = {
      depth: Math.max(shape.depth, extent.depth),
      nesting: Math.max(shape.nesting, extent.nesting),
      selections: Math.max(shape.selections, extent.selections),
    };
  }
  return { ...shape, aliases, cycle, visited };
}

/**
 * Pairs of fields sharing a response path once spreads are expanded and same-named fields
 * merged: the pairs graphql-js's OverlappingFieldsCanBeMerged rule compares (a thousand
 * copies of `devices { totalCount }` are half a million). Counting walks every expanded
 * selection once, so call it only on a document without cycles whose `selections` are
 * bounded; it stops as soon as the count passes `limit`.
 */
export function overlappingPairs(document: DocumentNode, limit: number): number {
  const fragments = fragmentsOf(document);
  const groups: SelectionSetNode[][] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) groups.push([definition.selectionSet]);
  }
  let pairs = 0;
  for (let group = groups.pop(); group; group = groups.pop()) {
    // Fields of the merged selection set by response name, with the selection sets to merge below them.
    const fields = new Map<string, { count: number; below: SelectionSetNode[] }>();
    const pending = [...group];
    for (let set = pending.pop(); set; set = pending.pop()) {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          const name = selection.alias?.value ?? selection.name.value;
          const entry = fields.get(name) ?? { count: 0, below: [] };
          entry.count++;
          if (selection.selectionSet) entry.below.push(selection.selectionSet);
          fields.set(name, entry);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          pending.push(selection.selectionSet);
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment) pending.push(fragment.selectionSet);
        }
      }
    }
    for (const { count, below } of fields.values()) {
      pairs += (count * (count - 1)) / 2;
      if (pairs > limit) return pairs;
      if (below.length > 0) groups.push(below);
    }
  }
  return pairs;
}
