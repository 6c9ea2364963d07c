/**
 * fetch for the command-line tools: when the service cannot be reached at all, the error names
 * the address and the cause (Node's own says only "fetch failed").
 */
export async function fetchService(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    const origin = new URL(url).origin;
    throw new Error(
      `cannot reach the service at ${origin}: ${cause?.code ?? cause?.message ?? (error as Error).message} (is it running there? --url names another)`,
      {
        cause: error,
      },
    );
  }
}
