/** Splits `items` into groups of at most `size`: clients into chunk jobs (API), tokens into send groups (workers). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
