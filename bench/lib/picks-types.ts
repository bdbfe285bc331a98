/** Shapes shared by the per-pick benchmark child and the report. */

/** One algorithm at one member count (the shape bench/picks.ts exports). */
export interface PickRow {
  algorithm: string;
  members: number;
  nsPerOp: number;
  samples: number[];
}

/** What the picks child reports. */
export interface PicksReport {
  rows: PickRow[];
  /** The floor: a bare random array index, at each member count. */
  floor: PickRow[];
  /** Target ns per pick at 1 000 members, per algorithm or for all, if picks.ts states one. */
  targetsNs?: number | Record<string, number>;
  /** Why there are no algorithm rows. */
  missing?: string;
}

export const PICK_FLOOR_NAME = 'bare random index (floor)';
export const PICK_MEMBER_COUNTS = [10, 100, 1_000];
