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

/**
 * What a phone user or a low-vision reader would meet: the page wider than the screen
 * (horizontal scrolling; a table may scroll inside its own box), and visible text whose
 * contrast with its background is under WCAG AA (4.5:1, or 3:1 for large text). One line each.
 */
export function layoutAndContrastProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const window = globalThis as any;
    const document = window.document;
    const problems: string[] = [];
    const root = document.documentElement;
    const [pageWidth, screenWidth] = [Number(root.scrollWidth), Number(root.clientWidth)];
    if (pageWidth > screenWidth + 1) problems.push(`page ${pageWidth}px wide on a ${screenWidth}px screen`);
    const rgba = (css: string): number[] => (css.match(/[\d.]+/g) ?? ['0', '0', '0', '0']).map(Number).concat(1).slice(0, 4);
    const luminance = ([r, g, b]: number[]) => {
      const channel = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r!) + 0.7152 * channel(g!) + 0.0722 * channel(b!);
    };
    // The colour behind an element: the first ancestor background that is not transparent (white at the top).
    const background = (element: any): number[] => {
      for (let at = element; at; at = at.parentElement) {
        const colour = rgba(window.getComputedStyle(at).backgroundColor);
        if (colour[3]! > 0.5) return colour;
      }
      return [255, 255, 255, 1];
    };
    const seen = new Set<string>();
    for (const element of document.querySelectorAll('body *') as any[]) {
      const ownText = [...element.childNodes].some((node: any) => node.nodeType === 3 && node.textContent.trim() !== '');
      if (!ownText || element.getClientRects().length === 0 || element.closest('[hidden], [aria-hidden="true"], :disabled')) continue;
      const style = window.getComputedStyle(element);
      if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
      const fore = luminance(rgba(style.color));
      const back = luminance(background(element));
      const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const needed = large ? 3 : 4.5;
      const where = `${element.tagName.toLowerCase()}${element.className && typeof element.className === 'string' ? `.${element.className.split(' ').join('.')}` : ''}`;
      if (ratio < needed && !seen.has(where)) {
        seen.add(where);
        problems.push(`contrast ${ratio.toFixed(2)}:1 < ${needed}:1: ${where} "${element.textContent.trim().slice(0, 30)}"`);
      }
    }
    return problems;
  });
}
