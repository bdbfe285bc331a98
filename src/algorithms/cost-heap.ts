/**
 * An indexed binary min-heap of member slots by a numeric key, for {@link LeastLoaded}: the
 * cheapest member is at the top (O(1) to read), and changing one member's key moves it in
 * O(log n). Slots are small integers (a member's index in the synced member array), so the heap
 * and the slot → position index are typed arrays: no objects, no allocation after `reset`.
 */
export class CostHeap {
  /** heap position → slot */
  #heap = new Int32Array(0);
  /** slot → heap position, -1 when the slot is not in the heap */
  #pos = new Int32Array(0);
  /** key by slot */
  #key = new Float64Array(0);
  #size = 0;

  /** Empties the heap and sizes it for slots `0 .. capacity - 1`. O(capacity). */
  reset(capacity: number): void {
    this.#heap = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity).fill(-1);
    this.#key = new Float64Array(capacity);
    this.#size = 0;
  }

  /** Slots in the heap. */
  get size(): number {
    return this.#size;
  }

  /** The slot with the lowest key; only meaningful when `size > 0`. */
  top(): number {
    return this.#heap[0];
  }

  /** `true` when `slot` is in the heap. */
  has(slot: number): boolean {
    return this.#pos[slot] >= 0;
  }

  /** The key `slot` was last given. */
  keyOf(slot: number): number {
    return this.#key[slot];
  }

  /** Inserts `slot` with `key`, or re-keys it when it is already in. */
  set(slot: number, key: number): void {
    const at = this.#pos[slot];
    if (at < 0) {
      this.#key[slot] = key;
      const end = this.#size++;
      this.#heap[end] = slot;
      this.#pos[slot] = end;
      this.#siftUp(end);
      return;
    }
    const old = this.#key[slot];
    this.#key[slot] = key;
    if (key < old) this.#siftUp(at);
    else if (key > old) this.#siftDown(at);
  }

  /** Takes `slot` out of the heap (no-op when it is not in). */
  delete(slot: number): void {
    const at = this.#pos[slot];
    if (at < 0) return;
    this.#pos[slot] = -1;
    const last = --this.#size;
    if (at === last) return;
    const moved = this.#heap[last];
    this.#heap[at] = moved;
    this.#pos[moved] = at;
    this.#siftUp(at);
    this.#siftDown(this.#pos[moved]);
  }

  #siftUp(from: number): void {
    const heap = this.#heap;
    const keys = this.#key;
    const slot = heap[from];
    const key = keys[slot];
    let i = from;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent];
      if (keys[above] <= key) break;
      heap[i] = above;
      this.#pos[above] = i;
      i = parent;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }

  #siftDown(from: number): void {
    const heap = this.#heap;
    const keys = this.#key;
    const n = this.#size;
    const slot = heap[from];
    const key = keys[slot];
    let i = from;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[heap[child + 1]] < keys[heap[child]]) child++;
      const below = heap[child];
      if (keys[below] >= key) break;
      heap[i] = below;
      this.#pos[below] = i;
      i = child;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }
}
