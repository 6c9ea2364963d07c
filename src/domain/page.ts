/** Keyset pagination: the first `first` items after `afterKey`. */
export interface PageRequest {
  readonly first: number;
  /** Key of the last item of the previous page; exclusive. */
  readonly afterKey?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  readonly hasMore: boolean;
}
