import { getOperationAST, Kind, OperationTypeNode, type DocumentNode } from 'graphql';

/** What the census needs of a graphql-ws connection context: its live operations by id. */
interface LiveOperations {
  readonly subscriptions: Readonly<Record<string, unknown>>;
}

/**
 * The open WebSocket connections and their operations by kind, counted when a scrape asks
 * (nothing is done per event). A subscription's kind is its root field (a bounded vocabulary:
 * the schema's), a query or mutation's its operation type.
 */
export class OperationCensus {
  private readonly kinds = new Map<LiveOperations, Map<string, string>>();

  opened(connection: LiveOperations): void {
    this.kinds.set(connection, new Map());
  }

  closed(connection: LiveOperations): void {
    this.kinds.delete(connection);
  }

  started(connection: LiveOperations, id: string, document: DocumentNode, operationName: string | undefined): void {
    const operation = getOperationAST(document, operationName);
    const field = operation?.selectionSet.selections[0];
    const kind = operation?.operation === OperationTypeNode.SUBSCRIPTION && field?.kind === Kind.FIELD ? field.name.value : (operation?.operation ?? 'unknown');
    this.kinds.get(connection)?.set(id, kind);
  }

  get connections(): number {
    return this.kinds.size;
  }

  /** Live operations by kind; forgets those graphql-ws has completed since. */
  operations(): ReadonlyMap<string, number> {
    const counts = new Map<string, number>();
    for (const [connection, kinds] of this.kinds) {
      for (const [id, kind] of kinds) {
        if (!(id in connection.subscriptions)) kinds.delete(id);
        else counts.set(kind, (counts.get(kind) ?? 0) + 1);
      }
    }
    return counts;
  }
}
