/** What the benchmarks' SVG charts share. */

/** Escapes text for an SVG element or attribute. */
export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
