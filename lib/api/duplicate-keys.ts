/**
 * The first object member name that appears twice in one object of a JSON text, or undefined.
 *
 * JSON.parse keeps the last of duplicated names; a proxy or a log reader that keeps the first would see
 * another request than Tether acts on (`{"reason":"","reason":"drill"}`), so bodies with duplicates are
 * refused. RFC 8259 §4 leaves duplicate names' meaning undefined. Call only on text JSON.parse accepted.
 */
export function duplicateMemberName(text: string): string | undefined {
  const objects: Array<{ names: Set<string>; expectName: boolean } | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const top = objects[objects.length - 1];
      if (top?.expectName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(name)) return name;
        top.names.add(name);
        top.expectName = false;
      }
      i = end;
    } else if (c === "{") {
      objects.push({ names: new Set(), expectName: true });
    } else if (c === "[") {
      objects.push(null);
    } else if (c === "}" || c === "]") {
      objects.pop();
    } else if (c === ",") {
      const top = objects[objects.length - 1];
      if (top) top.expectName = true;
    }
  }
  return undefined;
}
