import type { Page } from 'playwright-core';

/**
 * Accessibility checks written directly against the DOM (no axe dependency): what a screen
 * reader would announce as nameless, and what a keyboard cannot reach.
 */

/** Controls a keyboard user must be able to reach (:enabled: a disabled fieldset disables its controls too). */
const INTERACTIVE = 'a[href], button:enabled, input:enabled:not([type="hidden"]), select:enabled, textarea:enabled, summary';

/** One line per problem: a control, link, button or image without an accessible name, a duplicate id, no lang, no h1. */
export function accessibilityProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    // Runs in the page (the tests compile without the DOM types).
    const document = (globalThis as any).document;
    const problems: string[] = [];
    const text = (element: any) => (element?.textContent ?? '').replace(/\s+/g, ' ').trim();
    const describe = (element: any) =>
      `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${element.className && typeof element.className === 'string' ? `.${element.className.split(' ').join('.')}` : ''}`;
    const labelledBy = (element: any) =>
      (element.getAttribute('aria-labelledby') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((id: string) => text(document.getElementById(id)))
        .join(' ')
        .trim();
    const name = (element: any): string => {
      const aria = element.getAttribute('aria-label')?.trim() || labelledBy(element);
      if (aria) return aria;
      if (['INPUT', 'SELECT', 'TEXTAREA'].includes(element.tagName)) {
        return (
          [...(element.labels ?? [])]
            .map((label: any) => text(label))
            .join(' ')
            .trim() || element.title.trim()
        );
      }
      if (element.tagName === 'IMG') return element.alt.trim();
      return text(element) || (element.getAttribute('title') ?? '').trim();
    };
    for (const element of document.querySelectorAll('input:not([type="hidden"]), select, textarea, button, a[href], summary, img, [role="img"]') as any[]) {
      if (!name(element)) problems.push(`no accessible name: ${describe(element)}`);
    }
    const ids = new Map<string, number>();
    for (const element of document.querySelectorAll('[id]') as any[]) ids.set(element.id, (ids.get(element.id) ?? 0) + 1);
    for (const [id, count] of ids) if (count > 1) problems.push(`id used ${count} times: ${id}`);
    if (!document.documentElement.lang) problems.push('html has no lang');
    if (document.querySelectorAll('h1').length !== 1) problems.push(`${document.querySelectorAll('h1').length} h1 elements`);
    for (const table of document.querySelectorAll('table') as any[]) if (!table.querySelector('th')) problems.push(`table without headers: ${describe(table)}`);
    return problems;
  });
}

/** The visible interactive elements that pressing Tab from the top of the page never focuses. */
export async function unreachableByTab(page: Page): Promise<string[]> {
  const count = await page.evaluate((selector) => {
    const document = (globalThis as any).document;
    document.activeElement?.blur();
    const visible = [...(document.querySelectorAll(selector) as any[])].filter(
      (element) => element.getClientRects().length > 0 && !element.closest('[hidden], details:not([open]) > :not(summary)'),
    );
    visible.forEach((element: any, i: number) => element.setAttribute('data-tab-check', String(i)));
    return visible.length;
  }, INTERACTIVE);
  const reached = new Set<string>();
  // Generous: a datetime-local input takes a Tab per field (day, month, year, hour, minute...).
  for (let press = 0; press < count * 2 + 20; press += 1) {
    await page.keyboard.press('Tab');
    const mark = await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('data-tab-check') as string | null | undefined);
    if (mark !== null && mark !== undefined) reached.add(mark);
  }
  return page.evaluate(
    (seen) =>
      [...((globalThis as any).document.querySelectorAll('[data-tab-check]') as any[])]
        .filter((element) => !seen.includes(element.getAttribute('data-tab-check')))
        .map((element): string => `${element.tagName.toLowerCase()} "${(element.textContent ?? '').trim().slice(0, 40) || element.id}"`),
    [...reached],
  );
}
